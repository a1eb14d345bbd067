/**
 * Training compute by Kaplan et al. 2020's convention (Scaling Laws for Neural Language
 * Models, §2.1): per token, a forward pass costs 2·N + 2·nLayer·ctx·nEmbd FLOPs, where N is
 * the non-embedding parameter count and the second term is attention over the context; the
 * backward pass costs twice the forward. So training costs 6·N + 6·nLayer·ctx·nEmbd per token.
 */
import { countParams, type ModelConfig } from './config.ts';

/** Training FLOPs per token: 6·N (non-embedding) + 6·nLayer·ctx·nEmbd (attention). */
export function trainingFlopsPerToken(c: ModelConfig): number {
  return 6 * countParams(c).nonEmbedding + 6 * c.nLayer * c.blockSize * c.nEmbd;
}

/** Tokens (characters) one optimizer step consumes. */
export function tokensPerStep(c: Pick<ModelConfig, 'blockSize'>, batchSize: number): number {
  return c.blockSize * batchSize;
}

/** Training FLOPs of one optimizer step. */
export function trainingFlopsPerStep(c: ModelConfig, batchSize: number): number {
  return trainingFlopsPerToken(c) * tokensPerStep(c, batchSize);
}
