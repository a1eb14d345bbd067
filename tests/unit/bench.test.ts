import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { BENCH_CONFIGS } from '../../src/bench/plan.ts';
import { formatComparison, formatReport, parseReport, type BenchReport } from '../../src/bench/report.ts';
import { VariantGPT, type VariantSwitches } from '../../src/bench/worker/variant-gpt.ts';
import { initBackend } from '../../workers/backend.ts';
import { GPT } from '../../workers/model.ts';
import { findTorchPython, NO_TORCH, runTorch, torchEnv } from '../bench/torch.ts';
import { logitsOf, microModel, paramValues } from '../helpers.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-bench-'));
const ids = [
  [1, 2, 3, 4, 5, 6, 7, 8],
  [8, 7, 6, 5, 4, 3, 2, 1],
];

/** Kernels the engine runs for one forward, backward and loss of `model` on `ids`. */
async function kernelsOfGrads(model: Pick<GPT, 'forward' | 'loss' | 'params'>): Promise<string[]> {
  const info = await tf.profile(() => {
    const x = tf.tensor2d(ids, undefined, 'int32');
    const y = tf.tensor1d(ids.flat(), 'int32');
    const { value, grads } = tf.variableGrads(
      () => model.loss(model.forward(x), y),
      model.params.map((p) => p.variable),
    );
    return [value, ...Object.values(grads)];
  });
  tf.dispose(info.result);
  return info.kernels.map((k) => k.name);
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('the benchmark variants', () => {
  test('with every switch off, the variant is model.ts weight for weight and kernel for kernel', async () => {
    const gpt = new GPT(microModel, 5);
    const variant = new VariantGPT(microModel, 5);
    expect([...(await paramValues(variant as unknown as GPT)).values()]).toEqual([...(await paramValues(gpt)).values()]);
    expect(await logitsOf(variant as unknown as GPT, ids)).toEqual(await logitsOf(gpt, ids));
    expect(await kernelsOfGrads(variant)).toEqual(await kernelsOfGrads(gpt));
    gpt.dispose();
    variant.dispose();
  });

  test('switches that only change how the same function is computed give the same logits', async () => {
    const base = new VariantGPT(microModel, 6);
    const expected = await logitsOf(base as unknown as GPT, ids);
    for (const s of [{ gatherEmbedding: true }, { maskEveryForward: true }] satisfies VariantSwitches[]) {
      const m = new VariantGPT(microModel, 6, s);
      const got = await logitsOf(m as unknown as GPT, ids);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
      m.dispose();
    }
    // Biases start at zero, so fused and unfused biases match the model without them.
    for (const s of [{ bias: true }, { bias: true, fusedMatMul: true }] satisfies VariantSwitches[]) {
      const m = new VariantGPT(microModel, 6, s);
      const got = await logitsOf(m as unknown as GPT, ids);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
      m.dispose();
    }
    base.dispose();
  });

  test('switches that add parameters add the ones they name', () => {
    const { vocabSize: V, nEmbd: C, nLayer: L } = microModel;
    const size = (s: VariantSwitches) => {
      const m = new VariantGPT(microModel, 1, s);
      const n = m.params.reduce((a, p) => a + p.variable.size, 0);
      m.dispose();
      return n;
    };
    const base = size({});
    expect(size({ bias: true }) - base).toBe(L * (3 * C + C + 4 * C + C) + L * 2 * C + C); // linear biases, LayerNorm biases
    expect(size({ untiedHead: true }) - base).toBe(C * V);
    expect(size({ splitQkv: true })).toBe(base);
    expect(size({ padVocab: true }) - base).toBe((Math.ceil(V / 4) * 4 - V) * C);
    const padded = new VariantGPT(microModel, 1, { padVocab: true });
    const logits = tf.tidy(() => padded.forward(tf.tensor2d(ids, undefined, 'int32')));
    expect(logits.shape).toEqual([16, Math.ceil(V / 4) * 4]);
    logits.dispose();
    padded.dispose();
  });
});

describe('npm run bench', () => {
  test('measures the micro config on cpu and wasm, with every variant, and writes a report that compares', async () => {
    const file = join(dir, 'micro.json');
    const { stdout, stderr } = await run(
      'node',
      [
        '--import',
        'tsx',
        'tests/bench/bench.ts',
        '--backends',
        'cpu,wasm',
        '--configs',
        'micro',
        '--steps',
        '2',
        '--warmup',
        '0',
        '--sample-chars',
        '2',
        '--variants',
        'all',
        '--variant-steps',
        '1',
        '--variant-warmup',
        '0',
        '--profile',
        '--no-torch',
        '--save',
        file,
      ],
      { maxBuffer: 16 << 20 },
    );
    expect(stderr).toContain(`report written to ${file}`);
    for (const column of [
      'ms/step',
      'tokens/s',
      'vs torch',
      'first step ms',
      'dispatches/step',
      'kernels/step',
      'peak MB',
      'sample ms/char',
    ])
      expect(stdout).toContain(column);
    const report = parseReport(readFileSync(file, 'utf8'), file);
    expect(report.results.map((r) => r.backend)).toEqual(['cpu', 'wasm']);
    expect(report.torch).toEqual({ skipped: 'not asked for (--no-torch)' });
    for (const r of report.results) {
      expect(r.shape).toEqual(BENCH_CONFIGS.micro);
      expect(r.training.stepMs).toHaveLength(2);
      for (const x of [r.training.firstStepMs, r.training.msPerStep, r.training.tokensPerSec, r.training.loss])
        expect(Number.isFinite(x)).toBe(true);
      expect(r.training.dispatchesPerStep).toBeNull(); // no GPU here
      const b = r.training.breakdown!;
      expect(b.forward.kernels + b.backward.kernels + b.optimizer.kernels).toBe(r.training.kernelsPerStep);
      expect(r.training.peakBytes).toBeGreaterThan(0);
      expect(r.sampling.map((s) => s.kvCache)).toEqual([false, true]);
      for (const s of r.sampling) expect(s.chars).toBe(2);
      const names = r.variants.map((v) => v.name);
      // wasm has a fast path of its own (XNNPACK-only products), so the variants compare with its
      // plain ops and 'kernels' adds the model as it trains; cpu runs the plain ops anyway.
      const asTrained = r.backend === 'wasm' ? ['customKernels'] : [];
      expect(names).toEqual([
        'baseline',
        'bias',
        'fusedMatMul',
        'untiedHead',
        'splitQkv',
        'gatherEmbedding',
        'maskEveryForward',
        'padVocab',
        ...asTrained,
        'blockingReadback',
        'naive',
        'baselineAgain',
      ]);
      for (const v of r.variants) if (v.training) expect(v.training.stepMs).toHaveLength(1); // --variant-steps
      const kernels = (n: string) => r.variants.find((v) => v.name === n)!.training?.kernelsPerStep;
      expect(kernels(r.backend === 'wasm' ? 'customKernels' : 'baseline')).toBe(r.training.kernelsPerStep);
      // --profile: the kernels of a step, each kind once, timed (cpu and wasm run them synchronously).
      const profile = r.profile!;
      expect(profile.timed).toBe(true);
      // The products: tfjs's on cpu, the SIMD module's on wasm.
      expect(profile.rows.map((k) => k.kernel)).toContain(r.backend === 'wasm' ? 'TabgptMatMul' : 'BatchMatMul');
      expect(new Set(profile.rows.map((k) => `${k.kernel} ${k.shapes} ${k.attrs}`)).size).toBe(profile.rows.length);
      expect(profile.kernelMs!).toBeLessThanOrEqual(profile.msPerStep);
      expect(profile.rows.map((k) => k.ms!)).toEqual(profile.rows.map((k) => k.ms!).sort((a, b) => b - a));
      const transposed = profile.rows.filter((k) => k.kernel === 'BatchMatMul' && k.attrs !== '');
      // tfjs's matMul gradient transposes (cpu); on wasm every product is a plain one.
      if (r.backend === 'cpu') expect(transposed.length).toBeGreaterThan(0);
      else expect(transposed).toEqual([]);
      expect(kernels('bias')!).toBeGreaterThan(kernels('baseline')!);
      expect(kernels('splitQkv')!).toBeGreaterThan(kernels('baseline')!);
    }
    // wasm has no gradient for gather: that variant is skipped there, and says why.
    const wasmGather = report.results[1].variants.find((v) => v.name === 'gatherEmbedding')!;
    expect(wasmGather.training).toBeNull();
    expect(wasmGather.skipped).toMatch(/gather/);

    // A later run compares with this one.
    const later: BenchReport = {
      ...report,
      date: 'later',
      results: report.results.map((r) => ({ ...r, training: { ...r.training, msPerStep: r.training.msPerStep / 2 } })),
    };
    const comparison = formatComparison(report, later);
    expect(comparison).toContain(`against ${report.date}`);
    expect(comparison).toContain('−50%');
    expect(formatReport(later, report)).toContain(comparison);
    expect(stdout).toContain('micro on wasm: ');
    expect(stdout).toMatch(/ms in kernels/);
  });

  test('refuses a bad flag with exit code 2', async () => {
    const err = await run('node', ['--import', 'tsx', 'tests/bench/bench.ts', '--backends', 'cpu,tpu']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('"tpu" is not one of cpu, wasm, webgpu');
    const threads = await run('node', ['--import', 'tsx', 'tests/bench/bench.ts', '--wasm-threads', '2']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(threads).toMatchObject({ code: 2 });
    expect((threads as { stderr: string }).stderr).toContain('--wasm-threads needs --browser');
  });
});

describe('the PyTorch reference', () => {
  test('is skipped when no Python has torch', () => {
    expect(findTorchPython(['/nonexistent/python3'])).toBeNull();
  });

  test('runs on as many cores as it has threads: its BLAS is pinned too, not only torch', () => {
    const env = torchEnv(1, { PATH: '/bin', OPENBLAS_NUM_THREADS: '8' });
    expect(env).toMatchObject({ PATH: '/bin', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
  });

  // .ci/run installs Debian's python3-torch; without it this fails, saying how to install it.
  test('torch_gpt.py trains the same architecture: the same parameter count', () => {
    const python = findTorchPython();
    if (!python) throw new Error(NO_TORCH);
    const r = runTorch(python, 'datasets/dist/moby-dick.txt', 'micro', BENCH_CONFIGS.micro, {
      warmup: 0,
      steps: 1,
      sampleChars: 1,
      threads: 1,
    });
    const { nLayer: L, nEmbd: C, blockSize: T } = BENCH_CONFIGS.micro;
    expect(r.params).toBe(83 * C + T * C + L * (12 * C * C + 2 * C) + C); // countParams with moby-dick's 83 characters
    expect(Number.isFinite(r.tokensPerSec)).toBe(true);
  });
});
