import { expect, test } from 'vitest';
import { checkpointFileName, formatDate } from '../../src/lib/checkpoint-files.ts';

test('a checkpoint file is named after its corpus and step', () => {
  expect(checkpointFileName('moby-dick', 400)).toBe('tabgpt-moby-dick-step400.safetensors');
  expect(checkpointFileName('markov:order=3,seed=7', 5)).toBe('tabgpt-markov-order-3-seed-7-step5.safetensors');
  expect(checkpointFileName('My Notes (draft).txt', 12)).toBe('tabgpt-My-Notes-draft-step12.safetensors');
  expect(checkpointFileName('日記.txt', 1)).toBe('tabgpt-corpus-step1.safetensors');
});

test('dates read year first, to the minute', () => {
  expect(formatDate(new Date(2026, 0, 5, 9, 7).getTime())).toBe('2026-01-05 09:07');
});
