/**
 * Checkpoints through the training worker's protocol, in Node on the cpu backend: a run saved at
 * step k (paused, or between two steps while training) and loaded into a fresh run continues to
 * the very losses of an uninterrupted run, and an unusable file changes nothing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import { readSafetensors } from '../../src/core/safetensors.ts';
import type { ToWorker } from '../../workers/protocol.ts';
import { events, next, send, startWorker } from './worker-harness.ts';

const text = 'It is a truth universally acknowledged, that a single man in possession of a good fortune. '.repeat(30);
const corpus = { name: 'austen', text };
const model = { ...defaultModelConfig, nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16 };
const train = { ...defaultTrainConfig, batchSize: 4, maxSteps: 30, warmupSteps: 3, evalEvery: 10, evalBatches: 2, logEvery: 2 };
const start = (over: Partial<typeof train> = {}): ToWorker => ({ type: 'start', id: 1, corpus, model, train: { ...train, ...over } });

const run = promisify(execFile);

/** Train losses of the step events posted since `mark`. */
const lossesSince = (mark: number) =>
  events
    .slice(mark)
    .filter((e) => e.type === 'step')
    .map((e) => e.loss);

let reference: number[] = [];

/** A finished run of a few steps: what a test that saves, loads over or fine-tunes a run starts from. */
async function shortRun() {
  const done = next('done');
  send(start({ maxSteps: 4 }));
  await done;
}

beforeAll(async () => {
  await startWorker();
  // The uninterrupted run every resumed one is compared with.
  const mark = events.length;
  const done = next('done');
  send(start());
  await done;
  reference = lossesSince(mark);
});

afterAll(() => {
  send({ type: 'reset' });
});

describe('train.worker checkpoints', () => {
  test('a run saved at step k while paused resumes in a fresh run to the losses of an uninterrupted one', async () => {
    expect(reference).toHaveLength(30);
    send(start());
    await next('step', (e) => e.step >= 4);
    send({ type: 'pause' });
    const { step: k } = await next('paused');
    const saved = next('saved', (e) => e.id === 1);
    send({ type: 'save', id: 1 });
    const { bytes, step, valLoss } = await saved;
    expect(step).toBe(k);
    expect(valLoss).toEqual(expect.any(Number));
    // The checkpoint names its corpus by the same checksum the CLI computes, so files move between them.
    const meta = readSafetensors(bytes).metadata;
    expect(JSON.parse(meta.corpus)).toEqual({ name: 'austen', sha256: createHash('sha256').update(text).digest('hex') });
    expect(JSON.parse(meta.history).losses).toEqual(reference.slice(0, k));

    // Something else is trained in between: the load replaces it.
    send(start({ seed: 99, maxSteps: 5 }));
    await next('done');
    const mark = events.length;
    const run = next('run');
    const paused = next('paused');
    send({ type: 'load', id: 2, bytes, corpus, mode: 'resume' });
    expect(await run).toMatchObject({ step: k, maxSteps: 30, corpus: 'austen', history: { losses: reference.slice(0, k) } });
    expect((await paused).step).toBe(k);
    const done = next('done');
    send({ type: 'resume' });
    expect((await done).summary.steps).toBe(30);
    expect(lossesSince(mark)).toEqual(reference.slice(k));
  });

  test('a save while training is taken between two steps, and the run goes on unchanged', async () => {
    const mark = events.length;
    const done = next('done');
    send(start());
    await next('step', (e) => e.step >= 3);
    const saved = next('saved', (e) => e.id === 3);
    send({ type: 'save', id: 3 });
    const { bytes, step } = await saved;
    await done;
    expect(lossesSince(mark)).toEqual(reference);
    expect(step).toBeGreaterThanOrEqual(3);
    expect(step).toBeLessThan(30);
    // Weights, optimizer state and data order all belong to `step`: resuming continues exactly.
    expect(JSON.parse(readSafetensors(bytes).metadata.history).losses).toEqual(reference.slice(0, step));
    const resumed = events.length;
    send({ type: 'load', id: 4, bytes, corpus, mode: 'resume' });
    await next('paused');
    const again = next('done');
    send({ type: 'resume' });
    await again;
    expect(lossesSince(resumed)).toEqual(reference.slice(step));
  });

  test('an unusable file or another corpus is refused with the reason, and the current run stays', async () => {
    await shortRun();
    send({ type: 'save', id: 5 });
    const { bytes } = await next('saved', (e) => e.id === 5);
    const corrupt = next('error', (e) => e.during === 'load');
    send({ type: 'load', id: 6, bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), corpus, mode: 'resume' });
    expect(await corrupt).toMatchObject({ id: 6, message: expect.stringMatching(/^not a usable checkpoint/) });

    const other = next('error', (e) => e.during === 'load');
    send({ type: 'load', id: 7, bytes, corpus: { name: 'other', text: text.toUpperCase() }, mode: 'resume' });
    expect((await other).message).toMatch(/trained on austen, another text than other/);

    // The finished run is still there to sample from.
    const sampled = next('sampleDone', (e) => e.id === 8);
    send({ type: 'sample', id: 8, prompt: 'It', length: 3, temperature: 1, seed: 1 });
    await sampled;
    expect(events.filter((e) => e.type === 'sampleToken' && e.id === 8)).toHaveLength(3);
  });

  test('fine-tuning grows the vocabulary to the new corpus and starts a fresh run at step 0', async () => {
    await shortRun();
    send({ type: 'save', id: 9 });
    const { bytes } = await next('saved', (e) => e.id === 9);
    const newText = `${text}QXZ! `.repeat(2);
    const run = next('run');
    const paused = next('paused');
    send({ type: 'load', id: 10, bytes, corpus: { name: 'new', text: newText }, mode: 'finetune', train: { ...train, maxSteps: 6 } });
    const info = await run;
    expect(info.vocab.join('')).toBe([...new Set(newText)].sort().join(''));
    expect(info).toMatchObject({ step: 0, maxSteps: 6, history: { losses: [], evals: [] } });
    expect((await paused).step).toBe(0);
    const done = next('done');
    send({ type: 'resume' });
    expect((await done).summary.steps).toBe(6);
  });

  test('the CLI and the worker resume the same file to the same losses', async () => {
    // A run saved by `train --save` at step 6 of a corpus file, resumed to step 12 by the CLI and by the worker.
    const dir = mkdtempSync(join(tmpdir(), 'tabgpt-resume-'));
    const [textFile, ckpt] = [join(dir, 'austen.txt'), join(dir, 'six.safetensors')];
    writeFileSync(textFile, text);
    const flags = [
      '--corpus',
      textFile,
      '--layers',
      '1',
      '--heads',
      '2',
      '--embd',
      '16',
      '--ctx',
      '16',
      '--batch',
      '4',
      '--dropout',
      '0.1',
      '--backend',
      'cpu',
      '--eval-every',
      '0',
    ];
    await run('node', ['--import', 'tsx', 'src/cli/main.ts', 'train', ...flags, '--steps', '6', '--save', ckpt]);
    const resumed = await run('node', [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'train',
      '--resume',
      ckpt,
      '--corpus',
      textFile,
      '--steps',
      '12',
      '--backend',
      'cpu',
    ]);
    const cliLosses = resumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'step')
      .map((l) => l.loss);
    expect(cliLosses).toHaveLength(6); // steps 7..12

    const bytes = new Uint8Array(readFileSync(ckpt));
    const saved = JSON.parse(readSafetensors(bytes).metadata.train);
    const paused = next('paused');
    send({ type: 'load', id: 12, bytes, corpus: { name: textFile, text }, mode: 'resume', train: { ...saved, maxSteps: 12 } });
    expect((await paused).step).toBe(6);
    const mark = events.length;
    const done = next('done');
    send({ type: 'resume' });
    await done;
    expect(lossesSince(mark)).toEqual(cliLosses);
  });

  test('save with no run is an error with its id', async () => {
    send({ type: 'reset' });
    await next('reset');
    const err = next('error', (e) => e.during === 'save');
    send({ type: 'save', id: 11 });
    expect(await err).toMatchObject({ id: 11, message: expect.stringMatching(/no run to save/) });
  });
});
