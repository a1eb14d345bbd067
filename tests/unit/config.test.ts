import { expect, test } from 'vitest';
import { defaultModelConfig, defaultTrainConfig, validateModelConfig, validateTrainConfig } from '../../src/core/config.ts';

const model = { ...defaultModelConfig, vocabSize: 65 };

test('the defaults are valid', () => {
  expect(validateModelConfig(model)).toEqual([]);
  expect(validateTrainConfig(defaultTrainConfig)).toEqual([]);
});

test.each([
  ['nLayer', 0, /nLayer must be at least 1/],
  ['nLayer', -2, /at least 1/],
  ['nLayer', 2.5, /whole number/],
  ['nHead', 3, /nEmbd \(64\) must be divisible by nHead \(3\)/],
  ['nEmbd', 1e9, /at most/],
  ['blockSize', 0, /blockSize must be at least 1/],
  ['dropout', 1, /dropout must be in \[0, 1\)/],
  ['dropout', -0.1, /dropout/],
  ['nEmbd', NaN, /whole number/],
] as const)('model %s = %s is refused', (field, value, message) => {
  const issues = validateModelConfig({ ...model, [field]: value });
  expect(issues.map((i) => i.message).join('\n')).toMatch(message);
  expect(issues.some((i) => i.field === field)).toBe(true);
});

test.each([
  ['batchSize', 0, /batchSize must be at least 1/],
  ['maxSteps', 1.5, /whole number/],
  ['learningRate', 0, /learningRate must be in \(0, 10\], got 0/],
  ['learningRate', -1, /learningRate/],
  ['learningRate', Infinity, /finite/],
  ['minLr', 1, /minLr \(1\) must not exceed learningRate/],
  ['warmupSteps', -1, /warmupSteps/],
  ['beta2', 1, /beta2 must be in \[0, 1\)/],
  ['sampling', 'shuffled', /sampling must be "random" or "sequential"/],
  ['seed', -1, /seed/],
  ['logEvery', 0, /logEvery/],
] as const)('training %s = %s is refused', (field, value, message) => {
  const issues = validateTrainConfig({ ...defaultTrainConfig, [field]: value } as never);
  expect(issues.map((i) => i.message).join('\n')).toMatch(message);
  expect(issues.some((i) => i.field === field)).toBe(true);
});
