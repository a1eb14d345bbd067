import { expect, test } from 'vitest';
import { countParams } from '../../src/core/config.ts';
import { tokensPerStep, trainingFlopsPerStep, trainingFlopsPerToken } from '../../src/core/flops.ts';

const cfg = { vocabSize: 65, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64, dropout: 0 };

test('training FLOPs per token are 6·N plus the attention term 6·nLayer·ctx·nEmbd', () => {
  const N = countParams(cfg).nonEmbedding; // 12·2·64² + LayerNorms = 98,624
  expect(N).toBe(98_624);
  expect(trainingFlopsPerToken(cfg)).toBe(6 * 98_624 + 6 * 2 * 64 * 64);
});

test('a step is batch × ctx tokens', () => {
  expect(tokensPerStep(cfg, 16)).toBe(1024);
  expect(trainingFlopsPerStep(cfg, 16)).toBe(1024 * trainingFlopsPerToken(cfg));
});
