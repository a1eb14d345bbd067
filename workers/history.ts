/**
 * A run's curves as a checkpoint keeps them: every step's loss while there are few enough, and
 * past HISTORY_EXACT + HISTORY_BINS of them the earlier steps as log-spaced bins, so that any
 * run's checkpoint stays readable (one loss per step of a 6-million-step run is ~100 MiB of
 * header, the reader's limit) while the chart, whose step axis is logarithmic, looks the same.
 */

/** The curves of a run, so a resumed run's chart starts where it left off. */
export interface RunHistory {
  losses: number[]; // minibatch train loss, one per step 1..n, or one per entry of lossSteps
  lossSteps?: number[]; // when the history was thinned: the step each loss ends (a bin's mean up to that step)
  evals: { step: number; train: number; val: number }[];
}

/** The last steps kept one loss each. */
export const HISTORY_EXACT = 20_000;
/** Log-spaced bins for the steps before them. */
export const HISTORY_BINS = 2_000;
/** The most evaluations kept: past it, log-spaced ones, the latest kept whole. */
export const HISTORY_EVALS = 5_000;

/** The step of each loss: lossSteps, or 1..n. */
export function stepsOf(h: RunHistory): number[] {
  return h.lossSteps ?? h.losses.map((_, i) => i + 1);
}

/**
 * The history up to and including `step` (a resumed run's, whose later steps belong to a later
 * save), without the losses a file wrote as null (NaN); where any is left out, or the history was
 * thinned, each loss keeps its step in lossSteps.
 */
export function historyUpTo(h: RunHistory, step: number): RunHistory {
  const steps = stepsOf(h);
  const kept = h.losses.flatMap((loss, i) => (steps[i] <= step && typeof loss === 'number' ? [i] : []));
  const whole = h.lossSteps === undefined && kept.length === kept.at(-1)! + 1;
  return {
    losses: kept.map((i) => h.losses[i]),
    ...(whole || kept.length === 0 ? {} : { lossSteps: kept.map((i) => steps[i]) }),
    evals: h.evals.filter((e) => e.step <= step),
  };
}

/** Appends one step's loss, keeping lossSteps in step with it where the history was thinned. */
export function pushLoss(h: RunHistory, step: number, loss: number) {
  h.losses.push(loss);
  h.lossSteps?.push(step);
}

/**
 * The history bounded for a checkpoint's header: unchanged while it is short; otherwise the last
 * HISTORY_EXACT losses as they are and the earlier ones as the means of HISTORY_BINS bins whose
 * ends are log-spaced in step (a bin's mean weighs each loss by the steps it stands for, so a
 * history thinned twice has the same means). Losses that are not finite (JSON's null for NaN)
 * are left out of a mean; a bin with none is null. Evaluations past HISTORY_EVALS: the latest
 * half kept, and of the earlier ones the last in each log-spaced bin.
 */
export function thinHistory(h: RunHistory): RunHistory {
  const evals = thinEvals(h.evals);
  if (h.losses.length <= HISTORY_EXACT + HISTORY_BINS) return { ...h, evals };
  const steps = stepsOf(h);
  const split = h.losses.length - HISTORY_EXACT;
  const lastBinned = steps[split - 1];
  const losses: number[] = [];
  const lossSteps: number[] = [];
  let i = 0;
  let prevStep = 0;
  let prevEnd = 0;
  for (let b = 1; b <= HISTORY_BINS && i < split; b++) {
    const end = b === HISTORY_BINS ? lastBinned : Math.max(prevEnd + 1, Math.round(lastBinned ** (b / HISTORY_BINS)));
    let sum = 0;
    let weight = 0;
    let count = 0;
    for (; i < split && steps[i] <= end; i++, count++) {
      const w = steps[i] - prevStep;
      prevStep = steps[i];
      if (Number.isFinite(h.losses[i])) {
        sum += w * h.losses[i];
        weight += w;
      }
    }
    prevEnd = end;
    if (count === 0) continue; // no loss in this bin
    lossSteps.push(prevStep);
    losses.push(weight > 0 ? sum / weight : NaN);
  }
  return { losses: [...losses, ...h.losses.slice(split)], lossSteps: [...lossSteps, ...steps.slice(split)], evals };
}

function thinEvals(evals: RunHistory['evals']): RunHistory['evals'] {
  if (evals.length <= HISTORY_EVALS) return evals;
  const keepWhole = HISTORY_EVALS / 2;
  const early = evals.slice(0, evals.length - keepWhole);
  const last = early.at(-1)!.step;
  const kept: RunHistory['evals'] = [];
  let bin = 0;
  for (const e of early) {
    // The bin of this eval's step on a log scale; keep the last eval of each bin.
    const b = Math.floor((Math.log(Math.max(1, e.step)) / Math.log(Math.max(2, last))) * keepWhole);
    if (kept.length > 0 && b === bin) kept[kept.length - 1] = e;
    else kept.push(e);
    bin = b;
  }
  return [...kept, ...evals.slice(evals.length - keepWhole)];
}
