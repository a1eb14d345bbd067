/**
 * `export-nanogpt`: a tabgpt run handed to nanoGPT. The PyTorch side is checked with torch itself
 * (tests/interop/nanogpt_next_step.py): ckpt.pt loads with torch.load into nanoGPT's module tree
 * and AdamW groups, and PyTorch's next training step on tabgpt's next minibatch gives the same loss
 * and the same weights and moments as tabgpt's own next step. Runs come from the app's worker (a run
 * paused mid-way, on a file corpus) and from the CLI (a finished run, continued with --steps, split
 * over 2 GPUs). Bad input is refused with one line, and nothing is written.
 * Needs PyTorch: .ci/run installs Debian's python3-torch.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { exportNanogpt } from '../../src/cli/export.ts';
import { parseFlags, UsageError } from '../../src/cli/flags.ts';
import { defaultModelConfig, defaultTrainConfig, type TrainConfig } from '../../src/core/config.ts';
import { readSafetensors } from '../../src/core/safetensors.ts';
import { loadCheckpoint, saveCheckpoint } from '../../workers/checkpoint.ts';
import { GPT } from '../../workers/model.ts';
import { runFromCheckpoint } from '../../workers/run.ts';
import { Trainer } from '../../workers/train.ts';
import { nanoGptZip } from '../../src/lib/nanogpt-export.ts';
import { findTorchPython, NO_TORCH } from '../bench/torch.ts';
import { next, send, startWorker } from './worker-harness.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-nanogpt-'));
const text =
  'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. '.repeat(20);
const corpusPath = join(dir, 'austen.txt');
writeFileSync(corpusPath, text);
const sha = createHash('sha256').update(text).digest('hex');

const model = { ...defaultModelConfig, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16 };
const train: TrainConfig = {
  ...defaultTrainConfig,
  batchSize: 8,
  maxSteps: 12,
  warmupSteps: 3,
  learningRate: 1e-2,
  minLr: 1e-3,
  evalEvery: 4,
  evalBatches: 2,
  logEvery: 1,
};

const cli = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 64 << 20 });
    return {
      code: 0,
      lines: stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
      stderr,
    };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, lines: [], stderr: e.stderr };
  }
};

/** export-nanogpt in this process: a UsageError is the CLI's exit 2. */
const exportHere = (...args: string[]) => exportNanogpt(parseFlags('export-nanogpt', args));

let python: string;
let appBytes: Uint8Array; // a run the app's worker paused mid-way and saved
const appCheckpoint = join(dir, 'app.safetensors');
const cliCheckpoint = join(dir, 'cli.safetensors');

beforeAll(async () => {
  python = findTorchPython() ?? '';
  // The app: the worker trains on a file corpus, pauses at step 5 of 12 and saves.
  await startWorker();
  send({ type: 'start', id: 1, corpus: { name: 'austen.txt', text }, model, train });
  await next('step', (e) => e.step >= 4);
  send({ type: 'pause' });
  await next('paused');
  send({ type: 'save', id: 1 });
  appBytes = (await next('saved', (e) => e.id === 1)).bytes;
  writeFileSync(appCheckpoint, appBytes);
  send({ type: 'reset' });
  // The CLI: a finished run of 6 steps on the same text.
  const trained = await cli(
    'train',
    ...['--corpus', corpusPath, '--layers', '2', '--heads', '2', '--embd', '16', '--ctx', '16', '--batch', '8', '--steps', '6'],
    ...[
      '--warmup',
      '3',
      '--lr',
      '1e-2',
      '--min-lr',
      '1e-3',
      '--eval-every',
      '3',
      '--eval-batches',
      '2',
      '--backend',
      'cpu',
      '--save',
      cliCheckpoint,
    ],
  );
  expect(trained.code, trained.stderr).toBe(0);
}, 300_000);

/**
 * tabgpt's next step of the run in `bytes` (resumed as `train --resume [--steps]` resumes it) on its
 * next minibatch: the loss, the rows' offsets in the train split, and the checkpoint after it.
 */
async function tabgptNextStep(bytes: Uint8Array, maxSteps?: number) {
  const ck = loadCheckpoint(bytes);
  const { run: r } = await runFromCheckpoint(
    ck,
    { name: 'austen', text, sha256: sha },
    { mode: 'resume', overrides: maxSteps === undefined ? {} : { maxSteps } },
  );
  const batch = r.trainer.batcher.getBatch();
  const lr = r.trainer.getLr(r.trainer.step);
  const lossTensor = r.trainer.trainStep(batch);
  const loss = (await lossTensor.data())[0];
  lossTensor.dispose();
  const after = await saveCheckpoint(r.model, { vocab: r.tokenizer.vocab, train: r.trainer.config, trainer: r.trainer });
  r.trainer.dispose();
  r.model.dispose();
  return { loss, lr, starts: batch.starts, after };
}

interface NextStepReport {
  loss: number;
  lr: number;
  iter_num: number;
  torch: string;
  weightsOnly: boolean; // loaded with torch.load(..., weights_only=True): on PyTorch 2 and later
  flash: boolean;
  groups: number[];
  eps: number;
  tensors: Record<
    string,
    { weight: { maxAbs: number; rel: number }; moved: number; exp_avg: { rel: number }; exp_avg_sq: { rel: number }; step: number }
  >;
}

/** PyTorch's next step on the exported files, as nanoGPT's train.py takes it, compared with tabgpt's `after`. */
async function pytorchNextStep(out: string, name: string, starts: number[], after: Uint8Array): Promise<NextStepReport> {
  const startsPath = `${out}-starts.json`;
  const afterPath = `${out}-after.safetensors`;
  writeFileSync(startsPath, JSON.stringify(starts));
  writeFileSync(afterPath, after);
  const { stdout } = await run(python, ['tests/interop/nanogpt_next_step.py', out, name, startsPath, afterPath], {
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as NextStepReport;
}

/** The PyTorch major version of the python that runs the checks: the export is made for it. */
async function torchMajor(): Promise<string> {
  const { stdout } = await run(python, ['-c', 'import torch; print(torch.__version__.split(".")[0])']);
  return stdout.trim() === '1' ? '1' : '2';
}

let appExported: Promise<{ out: string; torch: string; done: Awaited<ReturnType<typeof cli>> }> | undefined;

/** The app's checkpoint exported by the CLI for this machine's PyTorch, once for the tests that read it. */
function appExport() {
  appExported ??= (async () => {
    const torch = await torchMajor();
    const out = join(dir, 'app-export');
    const done = await cli('export-nanogpt', '--checkpoint', appCheckpoint, '--out', out, '--corpus', corpusPath, '--torch', torch);
    expect(done.code, done.stderr).toBe(0);
    return { out, torch, done };
  })();
  return appExported;
}

function expectSameStep(report: NextStepReport, ours: { loss: number; lr: number }, step: number) {
  expect(report.iter_num).toBe(step);
  // On PyTorch 2, read by its safe unpickler (weights_only=True), as the README promises; 1.13's cannot read any float.
  expect(report.weightsOnly).toBe(Number(report.torch.split('.')[0]) >= 2);
  expect(report.lr).toBeCloseTo(ours.lr, 12);
  expect(Math.abs(report.loss - ours.loss)).toBeLessThan(1e-5);
  expect(report.groups).toEqual([2 + 4 * model.nLayer, 2 * model.nLayer + 1]); // configure_optimizers' two groups
  const names = Object.keys(report.tensors);
  expect(names).toHaveLength(3 + 6 * model.nLayer);
  for (const n of names) {
    const t = report.tensors[n];
    expect(t.step).toBe(step + 1);
    expect(t.moved).toBeGreaterThan(0); // the step changed every tensor, so agreeing means something
    expect(t.weight.rel, `${n}: weight`).toBeLessThan(1e-4);
    expect(t.exp_avg.rel, `${n}: exp_avg`).toBeLessThan(1e-4);
    expect(t.exp_avg_sq.rel, `${n}: exp_avg_sq`).toBeLessThan(1e-4);
  }
}

describe('export-nanogpt', () => {
  test('a run the app paused mid-way: PyTorch takes the same next step as tabgpt, on the same minibatch', async () => {
    if (!python) throw new Error(NO_TORCH);
    const { out, done } = await appExport();
    const step = Number(readSafetensors(appBytes).metadata.step);
    expect(step).toBeGreaterThanOrEqual(4);
    expect(step).toBeLessThan(12);
    expect(done.lines[0]).toMatchObject({ type: 'export', name: 'austen', step, maxIters: 12, gpus: 1, batchSize: 8 });
    const ours = await tabgptNextStep(appBytes);
    const report = await pytorchNextStep(out, 'austen', ours.starts, ours.after);
    expectSameStep(report, ours, step);
  });

  test('a finished CLI run continued with --steps over 2 GPUs: two micro-batches of 4 make the step of one batch of 8', async () => {
    if (!python) throw new Error(NO_TORCH);
    const torch = await torchMajor();
    const out = join(dir, 'cli-export');
    const done = await cli('export-nanogpt', '--checkpoint', cliCheckpoint, '--out', out, '--steps', '12', '--gpus', '2', '--torch', torch);
    expect(done.code, done.stderr).toBe(0);
    expect(done.lines[0]).toMatchObject({ step: 6, maxIters: 12, gpus: 2, batchSize: 4, gradientAccumulationSteps: 2 });
    const config = readFileSync(join(out, 'config/train_austen.py'), 'utf8');
    expect(config).toMatch(/^gradient_accumulation_steps = 2 /m);
    expect(config).toMatch(/^batch_size = 4 /m);
    const bytes = new Uint8Array(readFileSync(cliCheckpoint));
    const ours = await tabgptNextStep(bytes, 12);
    const report = await pytorchNextStep(out, 'austen', ours.starts, ours.after);
    expectSameStep(report, ours, 6);
  });
});

describe('the app', () => {
  test("Export for nanoGPT's zip holds the very files the CLI writes for the same run", async () => {
    if (!python) throw new Error(NO_TORCH);
    const { out, torch } = await appExport();
    const zip = await nanoGptZip(appBytes, { name: 'austen.txt', text }, { gpus: 1, torch: torch === '1' ? 1 : 2 });
    expect(zip.fileName).toMatch(/^tabgpt-nanogpt-austen-step\d+\.zip$/);
    expect(zip.command).toBe('python train.py config/train_austen.py');
    const path = join(dir, zip.fileName);
    writeFileSync(path, Buffer.concat(zip.chunks));
    const { stdout } = await run(python, [
      '-c',
      'import hashlib, json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None\nprint(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))',
      path,
    ]);
    const files = JSON.parse(stdout) as Record<string, string>;
    expect(Object.keys(files).sort()).toEqual(
      ['config/train_austen.py', 'data/austen/meta.pkl', 'data/austen/train.bin', 'data/austen/val.bin', 'out-austen/ckpt.pt'].sort(),
    );
    for (const [name, hash] of Object.entries(files))
      expect(
        createHash('sha256')
          .update(readFileSync(join(out, name)))
          .digest('hex'),
        name,
      ).toBe(hash);
  });

  test("a corpus other than the run's is refused with the reason", async () => {
    await expect(nanoGptZip(appBytes, { name: 'moby-dick', text: text.toUpperCase() }, { gpus: 1, torch: 2 })).rejects.toThrow(
      /trained on austen\.txt .*not on moby-dick, the corpus loaded now/,
    );
  });
});

/** A saved run with a vocabulary of `vocabSize` characters, or (trainer: false) its weights alone. */
async function madeCheckpoint(vocabSize: number, withTrainer: boolean): Promise<Uint8Array> {
  const vocab = Array.from({ length: vocabSize }, (_, i) => String.fromCodePoint(0x10000 + i));
  const config = { vocabSize, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 2, dropout: 0 };
  const gpt = new GPT(config, 0);
  const cfg = { ...defaultTrainConfig, batchSize: 2, maxSteps: 4 };
  const trainer = new Trainer(gpt, { train: new Int32Array(100), val: new Int32Array(20) }, cfg);
  const bytes = await saveCheckpoint(gpt, {
    vocab,
    ...(withTrainer ? { train: cfg, trainer } : {}),
    corpus: { name: 'made', sha256: '0'.repeat(64) },
  });
  trainer.dispose();
  gpt.dispose();
  return bytes;
}

describe('bad input is refused with one line, and nothing is written', () => {
  const rows: [what: string, args: (out: string) => string[], message: RegExp][] = [
    ['a missing checkpoint file', (out) => ['--checkpoint', join(dir, 'nope.safetensors'), '--out', out], /--checkpoint .*: no such file/],
    ['a folder for the checkpoint', (out) => ['--checkpoint', dir, '--out', out], /is a directory, not a file/],
    ['no --out', () => ['--checkpoint', cliCheckpoint], /--out is required/],
    [
      '--gpus 0',
      (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--gpus', '0'],
      /--gpus must be a whole number from 1 to 4096, got 0/,
    ],
    ['--gpus 1.5', (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--gpus', '1.5'], /--gpus must be a whole number/],
    [
      'a batch that does not split over the GPUs',
      (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--gpus', '3'],
      /batch of 8 sequences does not split evenly over 3 GPUs: use 1, 2, 4 or 8/,
    ],
    ['--torch 3', (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--torch', '3'], /--torch must be 1 or 2/],
    [
      'a name that is a path',
      (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--name', '../x'],
      /--name "\.\.\/x" cannot name a dataset folder/,
    ],
    [
      '--steps before the saved step',
      (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--steps', '4'],
      /at step 6: it cannot end at step 4/,
    ],
    [
      "a corpus that is not the run's",
      (out) => ['--checkpoint', cliCheckpoint, '--out', out, '--corpus', 'moby-dick'],
      /--corpus moby-dick: the run trained on .*austen\.txt .*not on moby-dick/,
    ],
    [
      "an app run's file corpus, not given",
      (out) => ['--checkpoint', appCheckpoint, '--out', out],
      /trained on "austen\.txt", which is not here: give its text with --corpus PATH/,
    ],
    [
      'a vocabulary too large for uint16 ids',
      (out) => ['--checkpoint', join(dir, 'huge.safetensors'), '--out', out],
      /vocabulary has 65,536 characters; nanoGPT's train\.bin holds uint16 token ids, and the export takes at most 65,535/,
    ],
    [
      'a checkpoint of weights only',
      (out) => ['--checkpoint', join(dir, 'weights.safetensors'), '--out', out],
      /holds weights only, not a run/,
    ],
  ];

  beforeAll(async () => {
    writeFileSync(join(dir, 'huge.safetensors'), await madeCheckpoint(65_536, true));
    writeFileSync(join(dir, 'weights.safetensors'), await madeCheckpoint(8, false));
  });

  test.each(rows)('%s', async (_, args, message) => {
    const parent = mkdtempSync(join(dir, 'row-'));
    const out = join(parent, 'export');
    const err = await exportHere(...args(out)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError); // the CLI's exit 2
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
    expect(readdirSync(parent)).toEqual([]); // no folder, no temporary one
  });

  test('a folder that exists and is not empty is left as it was', async () => {
    const out = mkdtempSync(join(dir, 'full-'));
    writeFileSync(join(out, 'train.py'), 'print(1)\n');
    await expect(exportHere('--checkpoint', cliCheckpoint, '--out', out)).rejects.toThrow(/exists and is not empty \(1 entry\)/);
    expect(readdirSync(out)).toEqual(['train.py']);
    await expect(exportHere('--checkpoint', cliCheckpoint, '--out', join(out, 'train.py'))).rejects.toThrow(/is a file/);
  });

  test('from the command line: exit 2 and one line for a bad flag, exit 1 for a file that is not a checkpoint', async () => {
    const parent = mkdtempSync(join(dir, 'cli-'));
    const gpus = await cli('export-nanogpt', '--checkpoint', cliCheckpoint, '--out', join(parent, 'x'), '--gpus', '0');
    expect(gpus.code).toBe(2);
    expect(gpus.stderr.trim().split('\n')).toEqual(['error: --gpus must be a whole number from 1 to 4096, got 0']);
    const junk = join(parent, 'junk.safetensors');
    writeFileSync(junk, 'not a checkpoint at all');
    const bad = await cli('export-nanogpt', '--checkpoint', junk, '--out', join(parent, 'y'));
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not a usable checkpoint/);
    expect(readdirSync(parent)).toEqual(['junk.safetensors']);
  });

  test('an empty folder is filled, and exists afterwards with the five files', async () => {
    const out = mkdtempSync(join(dir, 'empty-'));
    await exportHere('--checkpoint', cliCheckpoint, '--out', out, '--name', 'run_1');
    for (const f of ['data/run_1/train.bin', 'data/run_1/val.bin', 'data/run_1/meta.pkl', 'out-run_1/ckpt.pt', 'config/train_run_1.py'])
      expect(existsSync(join(out, f)), f).toBe(true);
    // train.bin and val.bin are the run's split: together the whole text, 90% first.
    const n = [...text].length;
    expect(readFileSync(join(out, 'data/run_1/train.bin')).length).toBe(2 * Math.floor(0.9 * n));
    expect(readFileSync(join(out, 'data/run_1/val.bin')).length).toBe(2 * (n - Math.floor(0.9 * n)));
  });
});
