import { expect, test } from 'vitest';
import { minCorpusLength, splitTrainVal } from '../../src/core/batching.ts';
import { syntheticIds } from '../helpers.ts';

test('minCorpusLength is the exact shortest corpus both splits accept', () => {
  for (const T of [1, 7, 16, 64, 256]) {
    const n = minCorpusLength(T);
    expect(() => splitTrainVal(syntheticIds(n, 5), T)).not.toThrow();
    expect(() => splitTrainVal(syntheticIds(n - 1, 5), T)).toThrow(/too short/);
  }
});
