/**
 * `npm run bench`: how fast tabgpt trains and samples on every backend it can start, beside
 * PyTorch on the same machine. Prints a table; writes the whole report as JSON; compares with
 * an earlier report. `--browser` runs the same measurements in Chromium (the bench page).
 * Progress goes to stderr.
 */
import { errorMessage } from '../../src/core/errors.ts';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, platform, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { distDir, isCorpusName, loadCorpus } from '../../datasets/corpora.ts';
import { formatReport, parseReport, type BenchReport, type TorchResult } from '../../src/bench/report.ts';
import { VARIANTS, type VariantName } from '../../src/bench/worker/variant-gpt.ts';
import { BENCH_CONFIGS, DEFAULT_OPTIONS, type BenchConfigName, type BenchOptions, type BenchPlan } from '../../src/bench/plan.ts';
import { findTorchPython, NO_TORCH, runTorch } from './torch.ts';

const HELP = `usage: npm run bench -- [flags]

Trains each config for a few steps on each backend and reports median ms/step after warm-up,
tokens/s (and as a multiple of PyTorch's on this machine), the first step's time, GPU dispatches
and tfjs kernels per step, peak tensor bytes, and sampling ms/character at full context without
and with the KV cache.

flags:
  --backends LIST       cpu,wasm,webgpu (default: all three; one that does not start is skipped)
  --configs LIST        tiny,reference (default both; micro is for tests)
  --steps N             timed steps (default per backend: cpu 4, wasm 12, webgpu 4)
  --warmup N            steps after the first, before the clock starts (cpu 1, wasm 2, webgpu 1)
  --read-every N        losses read back every N steps, one group behind (default 4, as training)
  --sample-chars N      characters timed per sampling measurement (cpu 8, wasm 32, webgpu 8; 0: none)
  --variants LIST       also measure model variants that undo one speed choice each: all, or some of
                        ${[...Object.keys(VARIANTS), 'blockingReadback', 'kernels', 'naive'].join(', ')}
                        (naive: all of them undone at once; on webgpu and wasm the variants run plain
                        tfjs ops, and kernels adds the model as it trains: custom WGSL kernels on
                        webgpu, the SIMD module's kernels on wasm)
  --variant-configs L   the configs the variants run on (default: every config)
  --variant-steps N     timed steps per variant (cpu 2, wasm 8, webgpu 2), after --variant-warmup N
  --profile             also profile a few training steps kernel by kernel: each kernel's calls and
                        ms per step by input shapes and transposes, slowest first (cpu and wasm;
                        on webgpu kernels run asynchronously, so counts only)
  --no-breakdown        skip splitting kernels and dispatches into forward, backward and optimizer
  --no-torch            skip the PyTorch reference (tests/bench/torch_gpt.py)
  --torch-threads N     PyTorch's threads (default 1: tfjs's wasm and cpu backends use one)
  --corpus NAME|PATH    a bundled corpus or a UTF-8 text file (default moby-dick)
  --browser             run in Chromium (the built bench page) instead of Node
  --wasm-threads N      with --browser: the wasm backend's threads (default: every core, at most 8)
  --save FILE           where the JSON report goes (default out/bench/bench-<date>.json)
  --compare FILE        an earlier report: adds a before → after table
  --show FILE           print a saved report's tables (with --compare: against that one) and run nothing
  --json                print the JSON report instead of the tables`;

const FLAGS = {
  backends: { type: 'string', default: 'cpu,wasm,webgpu' },
  configs: { type: 'string', default: 'tiny,reference' },
  steps: { type: 'string' },
  warmup: { type: 'string' },
  'read-every': { type: 'string' },
  'sample-chars': { type: 'string' },
  variants: { type: 'string' },
  'variant-configs': { type: 'string' },
  'variant-steps': { type: 'string' },
  'variant-warmup': { type: 'string' },
  'no-breakdown': { type: 'boolean' },
  profile: { type: 'boolean' },
  'no-torch': { type: 'boolean' },
  'torch-threads': { type: 'string', default: '1' },
  corpus: { type: 'string', default: 'moby-dick' },
  browser: { type: 'boolean' },
  'wasm-threads': { type: 'string' },
  save: { type: 'string' },
  compare: { type: 'string' },
  show: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function count(raw: string | undefined, flag: string, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function list<T extends string>(raw: string, flag: string, allowed: readonly T[]): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items)
    if (!allowed.includes(item as T)) throw new UsageError(`--${flag}: ${JSON.stringify(item)} is not one of ${allowed.join(', ')}`);
  if (items.length === 0) throw new UsageError(`--${flag} is empty`);
  return items as T[];
}

function planFrom(v: Record<string, string | boolean | undefined>): BenchPlan {
  const configNames = Object.keys(BENCH_CONFIGS) as BenchConfigName[];
  const configs = list(String(v.configs), 'configs', configNames).map((name) => ({ name, shape: BENCH_CONFIGS[name] }));
  const variantNames = [...(Object.keys(VARIANTS) as VariantName[]), 'blockingReadback', 'kernels', 'naive'] as const;
  const picked =
    v.variants === undefined || v.variants === 'none'
      ? []
      : v.variants === 'all'
        ? [...variantNames]
        : list(String(v.variants), 'variants', variantNames);
  const variantConfigs =
    v['variant-configs'] === undefined ? configs.map((c) => c.name) : list(String(v['variant-configs']), 'variant-configs', configNames);
  const overrides: Partial<BenchOptions> = {};
  const set = <K extends keyof BenchOptions>(key: K, value: BenchOptions[K] | undefined) => {
    if (value !== undefined) overrides[key] = value;
  };
  set('steps', count(v.steps as string | undefined, 'steps', 1));
  set('warmup', count(v.warmup as string | undefined, 'warmup'));
  set('readEvery', count(v['read-every'] as string | undefined, 'read-every', 1));
  set('sampleChars', count(v['sample-chars'] as string | undefined, 'sample-chars'));
  set('variantSteps', count(v['variant-steps'] as string | undefined, 'variant-steps', 1));
  set('variantWarmup', count(v['variant-warmup'] as string | undefined, 'variant-warmup'));
  if (v['no-breakdown']) overrides.breakdown = false;
  if (v.profile) overrides.profile = true;
  overrides.variants = picked.filter((n): n is VariantName => n !== 'blockingReadback' && n !== 'kernels' && n !== 'naive');
  overrides.blockingReadback = picked.includes('blockingReadback');
  overrides.customKernels = picked.includes('kernels');
  overrides.naive = picked.includes('naive');
  const backends = list(String(v.backends), 'backends', ['cpu', 'wasm', 'webgpu'] as const).map((name) => ({
    name,
    options: { ...DEFAULT_OPTIONS[name], ...overrides },
  }));
  return { configs, backends, variantConfigs };
}

/** The corpus text, and a file holding it for PyTorch. */
function corpusOf(nameOrPath: string): { text: string; path: string } {
  if (isCorpusName(nameOrPath)) return { text: loadCorpus(nameOrPath), path: join(distDir, `${nameOrPath}.txt`) };
  if (!existsSync(nameOrPath)) throw new UsageError(`--corpus ${JSON.stringify(nameOrPath)} is neither a bundled corpus nor a file`);
  return { text: readFileSync(nameOrPath, 'utf8'), path: nameOrPath };
}

async function main(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const before = v.compare ? parseReport(readFileSync(v.compare, 'utf8'), v.compare) : undefined;
  if (v.show) {
    const shown = parseReport(readFileSync(v.show, 'utf8'), v.show);
    process.stdout.write((v.json ? JSON.stringify(shown) : formatReport(shown, before)) + '\n');
    return;
  }
  if (v['wasm-threads'] !== undefined && !v.browser)
    throw new UsageError("--wasm-threads needs --browser: Node's wasm backend runs on one thread");
  const plan = planFrom(v);
  const corpus = corpusOf(v.corpus);
  const t0 = performance.now();
  const progress = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

  let measured: Pick<BenchReport, 'results' | 'skipped' | 'runtime' | 'machine'>;
  if (v.browser) {
    const { benchInChromium } = await import('./browser.ts');
    measured = await benchInChromium(plan, v.corpus, progress, count(v['wasm-threads'], 'wasm-threads', 1));
  } else {
    if (plan.backends.some((b) => b.name === 'webgpu')) {
      const { installNodeWebGPU } = await import('../../src/cli/dawn.ts');
      await installNodeWebGPU();
    }
    const { runPlan } = await import('../../src/bench/worker/bench.ts'); // tfjs loads only now, after Dawn's navigator.gpu
    const { results, skipped } = await runPlan(corpus.text, plan, progress);
    measured = {
      results,
      skipped,
      runtime: `node ${process.versions.node}`,
      machine: `${availableParallelism()} cores, ${platform()} ${arch()}`,
    };
  }

  let torch: BenchReport['torch'];
  const python = v['no-torch'] ? null : findTorchPython();
  if (v['no-torch']) torch = { skipped: 'not asked for (--no-torch)' };
  else if (!python) {
    torch = { skipped: NO_TORCH };
    progress(NO_TORCH);
  } else {
    const results: TorchResult[] = [];
    const wasm = DEFAULT_OPTIONS.wasm;
    for (const c of plan.configs) {
      progress(`${c.name} on PyTorch (${python})`);
      results.push(
        runTorch(python, corpus.path, c.name, c.shape, {
          warmup: wasm.warmup,
          steps: wasm.steps,
          sampleChars: wasm.sampleChars,
          threads: count(v['torch-threads'], 'torch-threads', 1)!,
        }),
      );
    }
    torch = { results };
  }

  const report: BenchReport = { type: 'bench', version: 1, date: new Date().toISOString(), corpus: v.corpus, ...measured, torch };
  const file = v.save ?? join('out', 'bench', `bench-${report.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 1) + '\n');
  progress(`report written to ${file}`);
  process.stdout.write((v.json ? JSON.stringify(report) : formatReport(report, before)) + '\n');
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    process.exit(err instanceof UsageError || (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
  },
);
