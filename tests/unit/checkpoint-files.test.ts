import { describe, expect, test } from 'vitest';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import { writeSafetensors } from '../../src/core/safetensors.ts';
import {
  checkpointFileName,
  describeCheckpoint,
  formatAge,
  formatDate,
  formatSummary,
  formatValLoss,
  loadedNote,
} from '../../src/lib/checkpoint-files.ts';

test('a checkpoint file is named after its corpus and step', () => {
  expect(checkpointFileName('moby-dick', 400)).toBe('tabgpt-moby-dick-step400.safetensors');
  expect(checkpointFileName('markov:order=3,seed=7', 5)).toBe('tabgpt-markov-order-3-seed-7-step5.safetensors');
  expect(checkpointFileName('My Notes (draft).txt', 12)).toBe('tabgpt-My-Notes-draft-step12.safetensors');
  expect(checkpointFileName('日記.txt', 1)).toBe('tabgpt-corpus-step1.safetensors');
});

test('dates read year first, to the minute', () => {
  expect(formatDate(new Date(2026, 0, 5, 9, 7).getTime())).toBe('2026-01-05 09:07');
});

test('ages read in the largest whole unit', () => {
  const now = 1_000_000_000_000;
  expect(formatAge(now - 20_000, now)).toBe('just now');
  expect(formatAge(now - 12 * 60_000, now)).toBe('12 min ago');
  expect(formatAge(now - 3 * 3_600_000, now)).toBe('3 h ago');
  expect(formatAge(now - 5 * 86_400_000, now)).toBe('5 days ago');
});

describe('describeCheckpoint', () => {
  const model = { ...defaultModelConfig, nLayer: 2, nHead: 4, nEmbd: 64, blockSize: 32, vocabSize: 3 };
  const file = (metadata: Record<string, string>) =>
    new Blob([writeSafetensors([{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }], metadata) as Uint8Array<ArrayBuffer>]);
  const meta = {
    config: JSON.stringify(model),
    vocab: JSON.stringify(['a', 'b', '🙂']),
    step: '400',
    train: JSON.stringify({ ...defaultTrainConfig, maxSteps: 600 }),
    corpus: JSON.stringify({ name: 'moby-dick', sha256: '00' }),
    state: '{}',
  };

  test("reads a checkpoint's shape, step, corpus and vocabulary from its header", async () => {
    const s = await describeCheckpoint(file(meta));
    expect(s).toEqual({
      shape: '2 layers × 64 wide, 4 heads, context 32',
      step: 400,
      maxSteps: 600,
      corpus: 'moby-dick',
      vocabSize: 3,
      resumable: true,
    });
    expect(formatSummary(s)).toBe('2 layers × 64 wide, 4 heads, context 32 · step 400 of 600 · moby-dick · 3 characters');
  });

  test('a file without its trainer is described, and marked not resumable', async () => {
    const { train: _, state: __, corpus: ___, ...weightsOnly } = meta;
    const s = await describeCheckpoint(file(weightsOnly));
    expect(s).toMatchObject({ maxSteps: null, corpus: null, resumable: false });
    expect(formatSummary(s)).toContain('step 400 · corpus unknown');
  });

  test('anything else is refused with its reason', async () => {
    await expect(describeCheckpoint(new Blob([new Uint8Array(3)]))).rejects.toThrow('too short');
    await expect(describeCheckpoint(new Blob([new Uint8Array(64).fill(255)]))).rejects.toThrow('header length');
    await expect(describeCheckpoint(file({ format: 'x' }))).rejects.toThrow('no model settings');
    await expect(describeCheckpoint(file({ ...meta, config: '{' }))).rejects.toThrow('cannot be read');
  });
});

test("a saved run's val loss names its step when the save came between evaluations", () => {
  expect(formatValLoss({ step: 145, valLoss: 3.6431, valStep: 100 })).toBe('val loss 3.643 at step 100');
  expect(formatValLoss({ step: 200, valLoss: 3.1, valStep: 200 })).toBe('val loss 3.100');
  expect(formatValLoss({ step: 145, valLoss: 3.1 })).toBe('val loss 3.100'); // saved before the step was kept
  expect(formatValLoss({ step: 5, valLoss: null, valStep: null })).toBe('val loss —');
});

test('a load’s note lasts while the run stays paused where it was loaded, and says how to go on', () => {
  const note = { text: 'run.safetensors: resumed on moby-dick, paused at step 145', step: 145 };
  expect(loadedNote(note, { status: 'paused', step: 145, maxSteps: 400 })).toBe(`${note.text}; press Resume to train`);
  // A finished run loaded: nothing is left to train, and Resume would do nothing.
  expect(loadedNote({ ...note, step: 400 }, { status: 'paused', step: 400, maxSteps: 400 })).toMatch(
    /; it has reached its last step: sample, score or export it, or fine-tune it to train on$/,
  );
  // Gone once the run moves on: trained, finished, reset.
  expect(loadedNote(note, { status: 'training', step: 150, maxSteps: 400 })).toBeNull();
  expect(loadedNote(note, { status: 'paused', step: 150, maxSteps: 400 })).toBeNull();
  expect(loadedNote(note, { status: 'done', step: 400, maxSteps: 400 })).toBeNull();
  expect(loadedNote(note, { status: 'idle', step: 0, maxSteps: 400 })).toBeNull();
  expect(loadedNote(null, { status: 'paused', step: 145, maxSteps: 400 })).toBeNull();
});
