#!/usr/bin/env bash
# Records the forecast backtest's bank: each run is one `train` log (JSON Lines, as the CLI prints
# it), gzipped. `npm run cli -- backtest` reads them; `JOBS=2 datasets/runs/record.sh` re-records
# them (about 30 minutes on a 2-core machine with two at a time; names as arguments record just those). wasm, so the numbers are the
# same as any machine's to float32 round-off, not bit for bit.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=datasets/runs
jobs=${JOBS:-1}
# name | flags (beyond --backend wasm). Corpora, sizes, batches, sampling, and schedules: cosine
# with long and short warm-up, constant, and a high peak.
runs=(
  "moby-default|--corpus moby-dick"
  "moby-1x32|--corpus moby-dick --layers 1 --heads 2 --embd 32 --steps 1500 --warmup 100"
  "moby-constant|--corpus moby-dick --lr 1e-3 --min-lr 1e-3 --warmup 50 --steps 1500"
  "moby-b32-short-warmup|--corpus moby-dick --batch 32 --steps 1000 --lr 2e-3 --min-lr 2e-4 --warmup 20"
  "moby-3x96|--corpus moby-dick --layers 3 --heads 4 --embd 96 --steps 1200 --lr 2e-3 --min-lr 2e-4 --warmup 100"
  "moby-ctx32-low-lr|--corpus moby-dick --layers 2 --heads 4 --embd 48 --ctx 32 --batch 32 --lr 1e-3 --min-lr 1e-4"
  "moby-high-lr|--corpus moby-dick --lr 6e-3 --min-lr 6e-5 --warmup 300 --steps 2400"
  "moby-4x64-dropout|--corpus moby-dick --layers 4 --embd 64 --batch 8 --steps 1500 --lr 1e-3 --min-lr 1e-4 --warmup 100 --dropout 0.1"
  "sotu-default|--corpus sotu --steps 1500 --warmup 150"
  "sotu-1x48-sequential|--corpus sotu --layers 1 --heads 4 --embd 48 --sampling sequential --steps 1500 --warmup 100"
  "sotu-2x32-constant|--corpus sotu --layers 2 --heads 2 --embd 32 --lr 3e-3 --min-lr 3e-3 --warmup 10 --steps 1200"
  "markov-default|--corpus markov --steps 1000 --warmup 100"
  "markov-o3-constant|--corpus markov:order=3,alphabet=6,seed=7 --layers 1 --heads 2 --embd 32 --lr 3e-3 --min-lr 3e-3 --warmup 0 --steps 1500"
  "markov-a6-2x48|--corpus markov:alphabet=6,seed=3 --layers 2 --heads 4 --embd 48 --steps 800 --warmup 80"
  "moby-2x32-b8|--corpus moby-dick --layers 2 --heads 2 --embd 32 --batch 8 --lr 3e-3 --min-lr 3e-4 --warmup 100"
  "moby-long|--corpus moby-dick --steps 3000 --warmup 100"
  "moby-no-warmup|--corpus moby-dick --warmup 0 --steps 1500 --lr 2e-3 --min-lr 2e-4"
  "moby-sequential|--corpus moby-dick --sampling sequential --steps 1500 --warmup 150"
  "moby-ctx128|--corpus moby-dick --ctx 128 --batch 8 --steps 1500 --warmup 100"
  "moby-wd0-low-floor|--corpus moby-dick --wd 0 --min-lr 1e-5 --steps 1500 --warmup 150"
  "sotu-b32|--corpus sotu --batch 32 --steps 1200 --warmup 60 --lr 2e-3 --min-lr 1e-4"
  "markov-o1-1x16|--corpus markov:order=1,alphabet=12,seed=5 --layers 1 --heads 1 --embd 16 --steps 1000 --warmup 50"
)
# Names given as arguments: record only those.
if [ $# -gt 0 ]; then
  keep=()
  for r in "${runs[@]}"; do for n in "$@"; do [ "${r%%|*}" = "$n" ] && keep+=("$r"); done; done
  runs=("${keep[@]}")
fi
record() {
  local name=${1%%|*} flags=${1#*|}
  # shellcheck disable=SC2086
  npm run -s cli -- train --backend wasm $flags | gzip -9 > "$out/$name.jsonl.gz"
  echo "$name: $(zcat "$out/$name.jsonl.gz" | tail -1)"
}
export -f record
export out
printf '%s\n' "${runs[@]}" | xargs -P "$jobs" -I{} bash -c 'record "$@"' _ {}
