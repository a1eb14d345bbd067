/**
 * Published scaling laws, and the counts a run is placed on them by.
 *
 * The laws were fitted on BPE-tokenised web text at 10^7–10^10 parameters, so for a 10^4–10^7
 * parameter character model they are a reference, not a prediction. Their losses are in nats per
 * BPE token; a per-character view divides by characters per token (Kaplan's WebText2 averaged
 * about 4.3), which is only an approximation.
 */
import { countParams, type ModelConfig } from './config.ts';

/** Kaplan et al. 2020, "Scaling Laws for Neural Language Models", eqs. 1.1–1.3 (Table 5). */
export const kaplan = {
  source: 'Kaplan et al. 2020, Scaling Laws for Neural Language Models (arXiv:2001.08361), §1.2',
  /** L(N) = (N_c / N)^α_N; N excludes embeddings. */
  N: { alpha: 0.076, Nc: 8.8e13 },
  /** L(D) = (D_c / D)^α_D; D in tokens. */
  D: { alpha: 0.095, Dc: 5.4e13 },
  /** L(C_min) = (C_c / C_min)^α_C; C in PF-days. */
  C: { alpha: 0.05, Cc: 3.1e8 },
  charsPerToken: 4.3, // WebText2, as the paper reports it
} as const;

/** L(N, D) = E + A/N^α + B/D^β. */
export interface ChinchillaLaw {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
}

/** Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. 10 (approach 3). */
export const chinchilla: ChinchillaLaw & { source: string } = {
  source: 'Hoffmann et al. 2022, Training Compute-Optimal Large Language Models (arXiv:2203.15556), eq. 10',
  E: 1.69,
  A: 406.4,
  B: 410.7,
  alpha: 0.34,
  beta: 0.28,
};

/** Besiroglu et al. 2024 (Epoch AI), "Chinchilla Scaling: A replication attempt", the refit of approach 3. */
export const epochRefit: ChinchillaLaw & { source: string } = {
  source: 'Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt (arXiv:2404.10102)',
  E: 1.8172,
  A: 482.01,
  B: 2085.43,
  alpha: 0.3478,
  beta: 0.3658,
};

/** Seconds in a day times 10^15: FLOPs per PF-day. */
export const FLOPS_PER_PF_DAY = 1e15 * 24 * 3600;

export const kaplanLossN = (N: number) => (kaplan.N.Nc / N) ** kaplan.N.alpha;
export const kaplanLossD = (D: number) => (kaplan.D.Dc / D) ** kaplan.D.alpha;
/** C in FLOPs. */
export const kaplanLossC = (C: number) => (kaplan.C.Cc / (C / FLOPS_PER_PF_DAY)) ** kaplan.C.alpha;

export function chinchillaLoss(law: ChinchillaLaw, N: number, D: number): number {
  return law.E + law.A / N ** law.alpha + law.B / D ** law.beta;
}

/**
 * Compute-optimal allocation under C = 6·N·D (Hoffmann et al. 2022, appendix D.2):
 * N_opt = G·(C/6)^a, D_opt = G⁻¹·(C/6)^b, with G = (αA/(βB))^(1/(α+β)), a = β/(α+β), b = α/(α+β).
 */
export function computeOptimal(law: ChinchillaLaw, C: number): { N: number; D: number; loss: number } {
  if (!(C > 0)) throw new RangeError(`the compute budget must be positive, got ${C}`);
  const { A, B, alpha, beta } = law;
  if (!(alpha > 0 && beta > 0 && A > 0 && B > 0)) throw new RangeError('compute-optimal allocation needs A, B, α, β > 0');
  const G = ((alpha * A) / (beta * B)) ** (1 / (alpha + beta));
  const N = G * (C / 6) ** (beta / (alpha + beta));
  const D = (1 / G) * (C / 6) ** (alpha / (alpha + beta));
  return { N, D, loss: chinchillaLoss(law, N, D) };
}

/** A loss per BPE token seen per character: divide by characters per token (an approximation). */
export function perCharacter(lossPerToken: number, charsPerToken: number): number {
  if (!(charsPerToken > 0)) throw new RangeError(`characters per token must be positive, got ${charsPerToken}`);
  return lossPerToken / charsPerToken;
}

/**
 * A law's prediction for a character model, or null where it means nothing: above ln(V), the
 * loss of a uniform guess, any model does better by predicting nothing at all.
 */
export function meaningfulPrediction(lossPerChar: number, vocabSize: number): number | null {
  return Number.isFinite(lossPerChar) && lossPerChar > 0 && lossPerChar < Math.log(vocabSize) ? lossPerChar : null;
}

/** The counts a run is placed on a scaling plot by. */
export interface RunCounts {
  params: number; // every parameter (the tied head counted once)
  nonEmbeddingExact: number; // params minus token and position embeddings
  nonEmbeddingKaplan: number; // 12·nLayer·nEmbd², Kaplan's approximation
  nanoGpt: number; // nanoGPT's get_num_params(): all but the position embedding
  tokens: number; // D: characters trained on
  flops: number; // C ≈ 6·N·D + 6·nLayer·ctx·nEmbd·D (Kaplan: the forward attention term 2·nLayer·ctx·nEmbd, ×3 for training)
  epochs: number; // D over the train split's length
}

export function runCounts(c: ModelConfig, tokens: number, trainChars: number): RunCounts {
  const { total, nonEmbedding } = countParams(c);
  return {
    params: total,
    nonEmbeddingExact: nonEmbedding,
    nonEmbeddingKaplan: 12 * c.nLayer * c.nEmbd ** 2,
    nanoGpt: total - c.blockSize * c.nEmbd,
    tokens,
    flops: 6 * nonEmbedding * tokens + 6 * c.nLayer * c.blockSize * c.nEmbd * tokens,
    epochs: trainChars > 0 ? tokens / trainChars : 0,
  };
}
