/**
 * The Scaling lab's form: the sweep's settings as typed, the ladder and budget they make, why they
 * cannot start a sweep, and whether the sweep they describe is likely to fit a law. ScalingLab
 * (scaling-lab.svelte.ts) extends it with what the sweeps measure.
 */
import type { ModelShape, SweepConfig } from '../../workers/protocol.ts';
import { adviseSweep, type SweepAdvice } from '../core/sweep-advice.ts';
import { DEFAULT_SIZES, parseLadder, sweepConfig, type Budget } from '../core/sweep.ts';

/** The lab's form, kept with its points. */
export type LabSettings = Pick<
  LabForm,
  | 'sizes'
  | 'budgetMode'
  | 'tokens'
  | 'tokensPerParam'
  | 'blockSize'
  | 'batchSize'
  | 'learningRate'
  | 'pointsPerModel'
  | 'targetSize'
  | 'targetTokens'
>;

export class LabForm {
  // Sweep settings, as the form edits them.
  sizes = $state(DEFAULT_SIZES);
  budgetMode = $state<'tokens' | 'tokensPerParam'>('tokens');
  tokens = $state(300_000);
  tokensPerParam = $state(20);
  blockSize = $state(64);
  batchSize = $state(16);
  learningRate = $state(3e-3);
  pointsPerModel = $state(4);

  // View settings.
  charsPerToken = $state(4.3); // Kaplan's WebText2 average
  computeBudget = $state(1e15); // FLOPs, for the compute-optimal allocation

  // The target of "predict, then verify".
  targetSize = $state('6x192');
  targetTokens = $state(1_000_000);

  /** The ladder as typed, or why it cannot be trained. */
  readonly ladder = $derived.by((): { ok: true; shapes: ModelShape[] } | { ok: false; message: string } => {
    try {
      return { ok: true, shapes: parseLadder(this.sizes) };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  });

  readonly budget = $derived<Budget>(this.budgetMode === 'tokens' ? { tokens: this.tokens } : { tokensPerParam: this.tokensPerParam });

  /** Why the settings cannot start a sweep, or null. */
  readonly settingsError = $derived.by((): string | null => {
    if (!this.ladder.ok) return this.ladder.message;
    const ints: [string, number][] = [
      ['context', this.blockSize],
      ['batch', this.batchSize],
      ['points per model', this.pointsPerModel],
    ];
    for (const [what, v] of ints) if (!Number.isInteger(v) || v < 1) return `${what} must be a whole number ≥ 1`;
    const b = this.budgetMode === 'tokens' ? this.tokens : this.tokensPerParam;
    if (!(b > 0)) return 'the token budget must be positive';
    if (!(this.learningRate > 0)) return 'the learning rate must be positive';
    return null;
  });

  /** The sweep the fields describe, built as the CLI's `sweep` builds it from its flags (src/core/sweep.ts). */
  sweepConfigFor(ladder: ModelShape[]): SweepConfig {
    return sweepConfig({
      ladder,
      blockSize: this.blockSize,
      batchSize: this.batchSize,
      learningRate: this.learningRate,
      minLr: this.learningRate / 10,
      budget: this.budget,
      points: this.pointsPerModel,
    });
  }

  /** Whether the sweep the fields describe is likely to fit a law, on a corpus of `vocabSize` characters (src/core/sweep-advice.ts). */
  adviceFor(vocabSize: number): SweepAdvice | null {
    if (this.settingsError || !this.ladder.ok || vocabSize < 1) return null;
    try {
      return adviseSweep(this.sweepConfigFor(this.ladder.shapes), vocabSize);
    } catch {
      return null; // settings the sweep itself will refuse, with its own message
    }
  }

  /** The form's fields, as kept with the lab. */
  settings(): LabSettings {
    const { sizes, budgetMode, tokens, tokensPerParam, blockSize, batchSize, learningRate, pointsPerModel, targetSize, targetTokens } =
      this;
    return { sizes, budgetMode, tokens, tokensPerParam, blockSize, batchSize, learningRate, pointsPerModel, targetSize, targetTokens };
  }
}
