import { expect, test } from 'vitest';
import {
  chinchilla,
  chinchillaLoss,
  computeOptimal,
  epochRefit,
  FLOPS_PER_PF_DAY,
  kaplan,
  kaplanLossC,
  kaplanLossD,
  kaplanLossN,
  meaningfulPrediction,
  perCharacter,
  runCounts,
} from '../../src/core/scaling.ts';

test("the parameter counter gives nanoGPT's 10,646,784 for its shakespeare-char shape", () => {
  // 6 layers, 6 heads, 384 wide, ctx 256, vocab 65, no biases; all but position embeddings.
  const c = runCounts({ vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2 }, 0, 1);
  expect(c.nanoGpt).toBe(10_646_784);
  expect(c.params).toBe(10_646_784 + 256 * 384);
  expect(c.nonEmbeddingKaplan).toBe(12 * 6 * 384 ** 2);
  expect(c.nonEmbeddingExact).toBe(10_646_784 - 65 * 384);
});

test('compute counts 6·N·D plus the attention term, and epochs are D over the split', () => {
  const cfg = { vocabSize: 65, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64, dropout: 0 };
  const c = runCounts(cfg, 1_000_000, 250_000);
  expect(c.flops).toBe(6 * c.nonEmbeddingExact * 1e6 + 6 * 2 * 64 * 64 * 1e6);
  expect(c.epochs).toBe(4);
});

test('the published laws give their own reference points', () => {
  expect(kaplanLossN(kaplan.N.Nc)).toBeCloseTo(1, 12); // L = 1 nat at N = N_c
  expect(kaplanLossD(kaplan.D.Dc / 2 ** (1 / 0.095))).toBeCloseTo(2, 10);
  expect(kaplanLossC(kaplan.C.Cc * FLOPS_PER_PF_DAY)).toBeCloseTo(1, 12);
  // Chinchilla (70B params, 1.4T tokens): about 1.94 nats/token by its own law.
  expect(chinchillaLoss(chinchilla, 70e9, 1.4e12)).toBeCloseTo(1.937, 2);
  expect(chinchillaLoss(epochRefit, 70e9, 1.4e12)).toBeGreaterThan(epochRefit.E);
});

test('per-character losses divide by characters per token, and predictions above ln(V) mean nothing', () => {
  expect(perCharacter(4.3, 4.3)).toBe(1);
  expect(meaningfulPrediction(3, 65)).toBe(3);
  expect(meaningfulPrediction(Math.log(65) + 0.01, 65)).toBeNull();
  expect(() => perCharacter(1, 0)).toThrow();
  expect(() => computeOptimal(chinchilla, 0)).toThrow(/positive/);
});
