import { describe, expect, test } from 'vitest';
import { Batcher, fixedBatches, splitTrainVal } from '../../src/core/batching.ts';
import { syntheticIds } from '../helpers.ts';

const data = syntheticIds(5000, 50);
const B = 4;
const T = 16;

function draw(b: Batcher, n: number) {
  return Array.from({ length: n }, () => b.getBatch());
}

describe('splitTrainVal', () => {
  test('keeps the first 90% for training and the last 10% for validation', () => {
    const ids = syntheticIds(1000, 7);
    const { train, val } = splitTrainVal(ids, 8);
    expect(train.length).toBe(900);
    expect(val.length).toBe(100);
    expect(Array.from(val)).toEqual(Array.from(ids.subarray(900)));
  });

  test('a corpus too short for the context says how long it must be', () => {
    expect(() => splitTrainVal(syntheticIds(100, 7), 16)).toThrow(/100 characters.*context of 16.*at least 161/);
  });
});

describe.each(['random', 'sequential'] as const)('%s batches', (sampling) => {
  test('targets are the inputs shifted by one character', () => {
    for (const batch of draw(new Batcher(data, B, T, sampling, 1), 20)) {
      batch.starts.forEach((s, r) => {
        for (let j = 0; j < T; j++) {
          expect(batch.x[r * T + j]).toBe(data[s + j]);
          expect(batch.y[r * T + j]).toBe(data[s + j + 1]);
        }
      });
    }
  });

  test('are deterministic under a seed and differ across seeds', () => {
    const a = draw(new Batcher(data, B, T, sampling, 9), 30).map((b) => b.starts);
    const b = draw(new Batcher(data, B, T, sampling, 9), 30).map((b) => b.starts);
    const c = draw(new Batcher(data, B, T, sampling, 10), 30).map((b) => b.starts);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  test('a saved state resumes the same sequence of batches', () => {
    const batcher = new Batcher(data, B, T, sampling, 5);
    draw(batcher, 7);
    const state = batcher.getState();
    const rest = draw(batcher, 100).map((b) => b.starts);
    const resumed = new Batcher(data, B, T, sampling, 123);
    resumed.setState(state);
    expect(draw(resumed, 100).map((b) => b.starts)).toEqual(rest);
  });
});

describe('random sampling', () => {
  test('every row starts anywhere a context and its target fit, and neighbouring batches are unrelated', () => {
    const batches = draw(new Batcher(data, B, T, 'random', 2), 2000);
    const starts = batches.flatMap((b) => b.starts);
    expect(Math.min(...starts)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...starts)).toBeLessThanOrEqual(data.length - T - 1);
    // Roughly uniform over the whole split: each tenth gets about a tenth of the rows.
    const bins = new Array(10).fill(0);
    for (const s of starts) bins[Math.floor((s / (data.length - T)) * 10)]++;
    for (const n of bins) expect(n / starts.length).toBeGreaterThan(0.08);
    // Row i of batch t+1 continues row i of batch t far less often than chance would allow.
    let continued = 0;
    for (let t = 1; t < batches.length; t++) {
      batches[t].starts.forEach((s, r) => (continued += s === batches[t - 1].starts[r] + T ? 1 : 0));
    }
    expect(continued).toBeLessThan(3);
  });
});

describe('sequential partitioning', () => {
  test('row i of batch t+1 starts exactly where row i of batch t ended', () => {
    const batcher = new Batcher(data, B, T, 'sequential', 3);
    const perEpoch = batcher.batchesPerEpoch;
    const batches = draw(batcher, perEpoch);
    for (let t = 1; t < batches.length; t++) {
      batches[t].starts.forEach((s, r) => expect(s).toBe(batches[t - 1].starts[r] + T));
    }
    expect(new Set(batches.map((b) => b.epoch))).toEqual(new Set([0]));
  });

  test('the streams are equal parts of the text and an epoch reads each character once', () => {
    const batcher = new Batcher(data, B, T, 'sequential', 4);
    const first = batcher.getBatch();
    const L = first.starts[1] - first.starts[0];
    first.starts.forEach((s, r) => expect(s).toBe(first.starts[0] + r * L));
    expect(first.starts[0]).toBeLessThanOrEqual(T); // the epoch offset is in [0, T]
    const seen = new Uint8Array(data.length);
    for (const b of [first, ...draw(batcher, batcher.batchesPerEpoch - 1)]) {
      for (const s of b.starts) for (let j = 0; j < T; j++) seen[s + j]++;
    }
    expect(Math.max(...seen)).toBe(1);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(B * T * batcher.batchesPerEpoch);
  });

  test('each epoch draws a new offset and starts the streams again', () => {
    const batches = draw(new Batcher(data, B, T, 'sequential', 6), 400);
    const firsts = batches.filter((b, t) => t === 0 || b.epoch !== batches[t - 1].epoch);
    expect(firsts.map((b) => b.epoch)).toEqual(firsts.map((_, e) => e));
    expect(firsts.length).toBeGreaterThan(3);
    for (const b of firsts) expect(b.starts[0]).toBeLessThanOrEqual(T); // stream 0 restarts at the offset
    expect(new Set(firsts.map((b) => b.starts[0])).size).toBeGreaterThan(1);
  });

  test('a split too short for batch × context streams is a clear error', () => {
    expect(() => new Batcher(data.subarray(0, 60), 4, 16, 'sequential', 1)).toThrow(/at least 65 characters; it has 60/);
  });
});

test('fixedBatches draws the same batches for the same seed', () => {
  expect(fixedBatches(data, B, T, 3, 8).map((b) => b.starts)).toEqual(fixedBatches(data, B, T, 3, 8).map((b) => b.starts));
});
