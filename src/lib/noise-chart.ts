/**
 * The noise-scale chart: the run's smoothed B_simple against the step, its batch as a line, and
 * Kaplan's B_crit at the current loss as another (src/core/noise-scale.ts has the math). Batches
 * in sequences on a log axis; the readout gives them in characters (tokens) too.
 */
import {
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { APP_NOISE_EVERY, batchReading, kaplanBCritChars } from '../core/noise-scale.ts';
import { kaplan } from '../core/scaling.ts';
import type { NoiseEvent } from '../../workers/protocol.ts';
import { applyChartTheme } from './chart-theme.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

/** What the chart's text says about the latest measurement. */
export interface NoiseReadout {
  step: number;
  bSimple: number | null; // sequences
  bSimpleTokens: number | null; // characters
  batch: number; // sequences
  batchTokens: number;
  kaplan: { loss: number; sequences: number; tokens: number } | null; // at the current loss, per character through kaplan.charsPerToken
  reading: string; // batchReading's one line
  noisyAt: number | null; // a later measurement's step whose estimate was at or below 0 (noise), not shown; null if none
}

/**
 * The latest measurement with a positive estimate (the chart draws only those), read against the
 * batch and Kaplan's law; the latest one if none is positive yet; null before the first. A later
 * estimate at or below 0 is noise in the smoothed terms, not a measurement: it is named, not shown.
 */
export function noiseReadout(noise: readonly NoiseEvent[], blockSize: number, loss: number | null): NoiseReadout | null {
  const last = noise.at(-1);
  if (!last) return null;
  let measured = last;
  for (let i = noise.length - 1; i >= 0; i--) {
    const b = noise[i].bSimple;
    if (b !== null && b > 0) {
      measured = noise[i];
      break;
    }
  }
  const crit = loss !== null && loss > 0 && Number.isFinite(loss) ? kaplanBCritChars(loss) : null;
  return {
    step: measured.step,
    bSimple: measured.bSimple,
    bSimpleTokens: measured.bSimpleTokens,
    batch: measured.batch,
    batchTokens: measured.batch * blockSize,
    kaplan: crit === null ? null : { loss: loss!, sequences: crit / blockSize, tokens: crit },
    reading: batchReading(measured.batch, measured.bSimple),
    noisyAt: measured === last ? null : last.step,
  };
}

/** A count as people read it: 3 significant digits below 1,000, then whole numbers with separators. */
export function formatBatch(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return n >= 1000 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(0) : n.toPrecision(2);
}

/** What measuring costs, in words. */
export const NOISE_COST = `measured every ${APP_NOISE_EVERY} steps: one more forward and backward pass over half a minibatch, about ${Math.round(50 / APP_NOISE_EVERY)}% more compute`;

/** The caveat that goes with Kaplan's line. */
export const KAPLAN_CAVEAT =
  `Kaplan et al. fitted B_crit(L) = B*/L^(1/α_B) (B* ≈ 2·10⁸ tokens, α_B ≈ 0.21) to losses in nats per BPE token. Here the loss per ` +
  `character × ${kaplan.charsPerToken} characters per token stands in for one, and the batch in tokens × ${kaplan.charsPerToken} is read as characters: ` +
  `an analogy across tokenisations, not a prediction.`;

type XY = { x: number; y: number };

export interface NoiseChartData {
  noise: readonly NoiseEvent[];
  batch: number | null; // the run's batch (sequences)
  kaplanSequences: number | null; // Kaplan's B_crit at the current loss, in sequences
  lastStep: number; // the x axis reaches at least here
}

/** The chart's datasets: B_simple where it is defined, and the two reference lines across the measured steps. */
export function noiseDatasets(d: NoiseChartData): { label: string; data: XY[]; kind: 'measured' | 'batch' | 'kaplan' }[] {
  const points = d.noise.filter((e) => e.bSimple !== null && e.bSimple > 0).map((e) => ({ x: e.step, y: e.bSimple! }));
  const x0 = d.noise[0]?.step ?? 0;
  const x1 = Math.max(d.lastStep, d.noise.at(-1)?.step ?? 0, x0 + 1);
  const across = (y: number) => [
    { x: x0, y },
    { x: x1, y },
  ];
  const out: ReturnType<typeof noiseDatasets> = [{ label: 'B_simple, measured (smoothed)', data: points, kind: 'measured' }];
  if (d.batch !== null) out.push({ label: `your batch (${d.batch})`, data: across(d.batch), kind: 'batch' });
  if (d.kaplanSequences !== null)
    out.push({ label: "Kaplan's B_crit at the current loss", data: across(d.kaplanSequences), kind: 'kaplan' });
  return out;
}

const COLORS = { measured: '#2f6fb3', batch: '#444444', kaplan: '#c0612b' } as const;

export interface NoiseChart {
  draw(d: NoiseChartData): void;
  pointCount(): number;
  destroy(): void;
}

/** B_simple against the step on a log y axis, with the batch and Kaplan's B_crit as lines. */
export function createNoiseChart(canvas: HTMLCanvasElement): NoiseChart {
  applyChartTheme();
  let count = 0;
  const chart = new Chart<'line', XY[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' } },
        y: { type: 'logarithmic', title: { display: true, text: 'batch (sequences)' } },
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 24, boxHeight: 2 } }, tooltip: { mode: 'nearest', intersect: false } },
    },
  });
  return {
    draw(d) {
      const sets = noiseDatasets(d);
      chart.data.datasets = sets.map((s): ChartDataset<'line', XY[]> => ({
        label: s.label,
        data: s.data,
        borderColor: COLORS[s.kind],
        backgroundColor: COLORS[s.kind],
        borderWidth: s.kind === 'measured' ? 2 : 1.5,
        borderDash: s.kind === 'kaplan' ? [6, 4] : s.kind === 'batch' ? [2, 3] : [],
        pointRadius: s.kind === 'measured' ? 1.5 : 0,
      }));
      count = sets[0].data.length;
      chart.update();
    },
    pointCount: () => count,
    destroy: () => chart.destroy(),
  };
}
