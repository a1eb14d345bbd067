/**
 * The learning-rate schedule of a run, decided here once: the trainer, the nanoGPT export and the
 * forecast all read it. Linear warm-up to the peak, then cosine decay to minLr at maxSteps, as
 * nanoGPT's get_lr (with lr_decay_iters = maxSteps).
 */
import type { TrainConfig } from './config.ts';

export type Schedule = Pick<TrainConfig, 'learningRate' | 'minLr' | 'warmupSteps' | 'maxSteps'>;

/** Learning rate of update `it` (0-based): linear warm-up, then cosine decay to minLr. */
export function getLr(s: Schedule, it: number): number {
  const { learningRate: lr, minLr, warmupSteps, maxSteps } = s;
  if (it < warmupSteps) return (lr * (it + 1)) / (warmupSteps + 1);
  if (it >= maxSteps) return minLr;
  const ratio = (it - warmupSteps) / Math.max(1, maxSteps - warmupSteps);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (lr - minLr);
}
