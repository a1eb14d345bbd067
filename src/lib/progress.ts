/** Progress arithmetic for the run's status line: pure, so it is tested outside the browser. */

export interface Progress {
  fraction: number; // 0..1 of maxSteps done
  etaMs: number | null; // time left at the current pace; null before the pace is known
  tokensPerSec: number | null;
}

/** `msPerStep` is the latest readback group's average (it already smooths over a few steps). */
export function progress(step: number, maxSteps: number, msPerStep: number | undefined, tokensPerStep: number | undefined): Progress {
  const fraction = maxSteps > 0 ? Math.min(1, Math.max(0, step / maxSteps)) : 0;
  const pace = msPerStep !== undefined && Number.isFinite(msPerStep) && msPerStep > 0 ? msPerStep : null;
  return {
    fraction,
    etaMs: pace === null ? null : Math.max(0, maxSteps - step) * pace,
    tokensPerSec: pace === null || !tokensPerStep ? null : (tokensPerStep * 1000) / pace,
  };
}

/** 3,725,000 ms → "1 h 2 min"; 95,000 → "1 min 35 s"; 4,200 → "4 s". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * The training pace over the last minute, for a steady ETA: a single read-back group's time
 * swings with evaluations, autosaves and the machine's other work, so the ETA jumped with it.
 * Fed (step, time) as steps arrive; restarted when training resumes, so a pause is not counted.
 */
export class Pace {
  #samples: { step: number; at: number }[] = [];

  constructor(
    readonly windowMs = 60_000, // the pace is that of this much recent training
    readonly settleMs = 10_000, // no pace until the samples span this long
  ) {}

  /** A step arrived at `at` (ms); returns the pace in ms per step, or null while it settles. */
  observe(step: number, at: number): number | null {
    const samples = this.#samples;
    samples.push({ step, at });
    // Drop samples before the window, keeping one at or before its start so the span stays a full window.
    while (samples.length > 2 && samples[1].at <= at - this.windowMs) samples.shift();
    const first = samples[0];
    const span = at - first.at;
    if (span < this.settleMs || step <= first.step) return null;
    return span / (step - first.step);
  }

  /** Training paused or a new run began: the pace is measured afresh. */
  restart() {
    this.#samples = [];
  }
}
