/**
 * `npm run mutate`: does every test that guards a rule go red when the rule is broken? Each
 * mutation below is a known-wrong edit (a mistake someone could make, or once made); it is applied
 * to a scratch copy of the repository, one at a time, the tests named for it run there, and the
 * mutation must make them fail. Prints each mutation with the tests that caught it, and exits 1
 * if any survived. A mutation whose text is no longer in its file is reported as stale (exit 1 too):
 * the list follows the code.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

interface Mutation {
  name: string;
  file: string; // relative to the repository root
  find: string; // exact text, found once
  replace: string;
  tests: string[]; // vitest files (unit project) that must fail
}

const MUTATIONS: Mutation[] = [
  {
    name: 'GELU: the tanh approximation instead of exact erf',
    file: 'workers/ops.ts',
    find: 'return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);',
    replace: 'return x.mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)).mul(0.5);',
    tests: ['tests/unit/model-ops.test.ts', 'tests/unit/interop.test.ts'],
  },
  {
    name: "in-context probe: the second copy's slice one position late",
    file: 'workers/inspect.ts',
    find: 'const second = perToken.slice([0, L], [K, L - 1]).mean();',
    replace: 'const second = perToken.slice([0, L + 1], [K, L - 1]).mean();',
    tests: ['tests/unit/inspect.test.ts'],
  },
  {
    name: 'resume: the dropout RNG not restored',
    file: 'workers/trainer.ts',
    find: 'this.dropoutRng = new Rng(s.dropoutRng);',
    replace: '',
    tests: ['tests/unit/checkpoint.test.ts'],
  },
  {
    name: 'nanoGPT export: LayerNorm gains in the weight-decay group',
    file: 'src/core/nanogpt.ts',
    find: 'const groups = [names.filter((n) => run.tensors.get(n)!.shape.length >= 2), names.filter((n) => run.tensors.get(n)!.shape.length < 2)];',
    replace:
      'const groups = [names.filter((n) => run.tensors.get(n)!.shape.length >= 1), names.filter((n) => run.tensors.get(n)!.shape.length < 1)];',
    tests: ['tests/unit/export-nanogpt.test.ts', 'tests/unit/nanogpt-files.test.ts'],
  },
  {
    name: 'noise scale: tr Σ taken from the last step instead of averaged',
    file: 'src/core/noise-scale.ts',
    find: 'this.trSigma = this.beta * this.trSigma + (1 - this.beta) * t.trSigma;',
    replace: 'this.trSigma = (1 - this.beta ** this.n) * t.trSigma;',
    tests: ['tests/unit/noise-scale.test.ts'],
  },
  {
    name: 'causal mask: each position also sees the next one',
    file: 'workers/ops.ts',
    find: 'for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = MASKED;',
    replace: 'for (let i = 0; i < T; i++) for (let j = i + 2; j < T; j++) data[i * T + j] = MASKED;',
    tests: ['tests/unit/model.test.ts'],
  },
  {
    name: 'sampling: the temperature applied twice',
    file: 'src/core/sampling.ts',
    find: 'return Math.exp((Math.log(p) - Math.log(maxP)) / temperature);',
    replace: 'return Math.exp((Math.log(p) - Math.log(maxP)) / (temperature * temperature));',
    tests: ['tests/unit/sampling.test.ts'],
  },
  {
    name: 'sequential partitioning: rows start one character late',
    file: 'src/core/batching.ts',
    find: 'for (let r = 0; r < B; r++) starts[r] = this.offset + r * L + this.cursor * T;',
    replace: 'for (let r = 0; r < B; r++) starts[r] = this.offset + r * L + this.cursor * (T + 1);',
    tests: ['tests/unit/batching.test.ts'],
  },
  {
    name: "n-gram baseline: Laplace's k off by one",
    file: 'src/core/ngram.ts',
    find: "if (smoothing.kind === 'laplace') return 1;",
    replace: "if (smoothing.kind === 'laplace') return 2;",
    tests: ['tests/unit/ngram.test.ts'],
  },
  {
    name: 'sweep --jobs: the law of a split grid taken from the last part that ties, not the first',
    file: 'src/core/fit.ts',
    find: 'return parts.reduce((best, part) => (better(part.loss, best.loss) ? part : best));',
    replace: 'return parts.reduce((best, part) => (better(best.loss, part.loss) ? part : best));',
    tests: ['tests/unit/fit.test.ts'],
  },
  {
    name: "sweep --jobs: a point measured on another job without its pause's weights",
    file: 'workers/sweep.ts',
    find: '  run.model.setWeights(weights);',
    replace: '',
    tests: ['tests/unit/cli-scaling.test.ts'],
  },
  {
    name: "sweep --jobs: a model's points printed in the order their measurements end, not by step",
    file: 'src/cli/model-lines.ts',
    find: 'place = 1 + m.steps.indexOf(line.point.step);',
    replace: 'place = Math.max(1, m.lines.length);',
    tests: ['tests/unit/model-lines.test.ts'],
  },
  {
    name: 'sweep --jobs: a model taken as ended once trained, before its points are measured',
    file: 'src/cli/model-lines.ts',
    find: 'if (!(m.trained && m.printed === 1 + m.steps.length)) return;',
    replace: 'if (!m.trained) return;',
    tests: ['tests/unit/model-lines.test.ts'],
  },
  {
    name: 'wasm: a shared Identity without its reference (the memory freed under the tensor that shares it)',
    file: 'workers/kernels/wasm-identity.ts',
    find: '(backend as WasmBackend).incRef(x.dataId);',
    replace: '',
    tests: ['tests/unit/simd-kernels.test.ts'],
  },
  {
    name: "wasm SIMD: a product's inner and outer widths swapped",
    file: 'workers/kernels/products.ts',
    find: 's.k[which](s.ptr(a), s.ptr(b), s.ptr(out), N, K, M);',
    replace: 's.k[which](s.ptr(a), s.ptr(b), s.ptr(out), N, M, K);',
    tests: ['tests/unit/simd-kernels.test.ts', 'tests/unit/model-ops.test.ts'],
  },
  {
    name: 'KV cache: a decoded position written one row late',
    file: 'workers/model.ts',
    find: 'Array.from({ length: nHead }, (_, h) => [0, h, pos]),',
    replace: 'Array.from({ length: nHead }, (_, h) => [0, h, Math.min(pos + 1, blockSize - 1)]),',
    tests: ['tests/unit/kv-cache.test.ts'],
  },
];

const ROOT = resolve(import.meta.dirname, '../..');
const only = process.argv.slice(2); // names (or parts of them) to run; none: all

function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabgpt-mutate-'));
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !/[/\\](node_modules|\.git|dist)$/.test(src) });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function main(): number {
  const chosen = MUTATIONS.filter((m) => only.length === 0 || only.some((o) => m.name.includes(o)));
  const dir = scratchCopy();
  const vitest = (tests: string[]) => spawnSync('npx', ['vitest', 'run', '--project', 'unit', ...tests], { cwd: dir, encoding: 'utf8' });
  // Unmutated, the same tests must pass there: a scratch copy that cannot run them would "catch" everything.
  const baseline = vitest([...new Set(chosen.flatMap((m) => m.tests))]);
  if (baseline.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(
      `the tests fail without any mutation, so nothing can be judged:\n${baseline.stdout.slice(-3000)}${baseline.stderr.slice(-2000)}\n`,
    );
    return 1;
  }
  const results: { name: string; outcome: 'caught' | 'SURVIVED' | 'STALE'; tests: string }[] = [];
  try {
    for (const m of chosen) {
      const path = join(dir, m.file);
      const original = readFileSync(path, 'utf8');
      if (original.split(m.find).length !== 2) {
        results.push({ name: m.name, outcome: 'STALE', tests: `its text is not in ${m.file} exactly once` });
        continue;
      }
      writeFileSync(path, original.replace(m.find, m.replace));
      try {
        const run = vitest(m.tests);
        results.push({ name: m.name, outcome: run.status === 0 ? 'SURVIVED' : 'caught', tests: m.tests.join(', ') });
      } finally {
        writeFileSync(path, original);
      }
      const last = results.at(-1)!;
      process.stdout.write(`${last.outcome.padEnd(8)} ${last.name} (${last.tests})\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = results.filter((r) => r.outcome !== 'caught');
  process.stdout.write(`\n${results.length - bad.length} of ${results.length} mutations caught\n`);
  return bad.length === 0 ? 0 : 1;
}

process.exit(main());
