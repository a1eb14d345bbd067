import { expect, test } from 'vitest';
import { Rng, streamSeed } from '../../src/core/rng.ts';

test('the same seed gives the same stream, and a saved state continues it exactly', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const first = Array.from({ length: 5 }, () => a.next());
  expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
  const saved = a.getState();
  const cont = Array.from({ length: 5 }, () => a.next());
  const restored = new Rng(saved);
  expect(Array.from({ length: 5 }, () => restored.next())).toEqual(cont);
});

test('uniform draws have the right mean and normal draws the right moments', () => {
  const r = new Rng(7);
  const n = 50000;
  let s = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    s += r.next();
    const z = r.normal();
    s1 += z;
    s2 += z * z;
  }
  expect(s / n).toBeCloseTo(0.5, 2);
  expect(s1 / n).toBeCloseTo(0, 1);
  expect(s2 / n).toBeCloseTo(1, 1);
});

test('seed streams differ by purpose', () => {
  expect(streamSeed(1, 'data')).not.toBe(streamSeed(1, 'init'));
  expect(streamSeed(1, 'data')).not.toBe(streamSeed(2, 'data'));
});
