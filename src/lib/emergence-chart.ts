/**
 * Emergence against scaling, in the Scaling lab: a sweep's held-out loss beside an ability's
 * score, against N (each model's last point), tokens D or compute C = 6ND (every point of every
 * model), or against the loss itself (is the score a function of the loss alone, across sizes?).
 * The loss falls smoothly with scale; an ability tends to appear abruptly: the contrast between
 * scaling laws and "emergent abilities". The abilities:
 * - the in-context probe (src/core/icl.ts), drawn as a fraction of chance, ln(characters drawn
 *   from), which an induction head approaches: 0 is no in-context learning, 1 a free second copy;
 * - a task's exact match, discontinuous, and its answer nats, continuous (workers/task-eval.ts):
 *   the same points under both show whether an abrupt rise is the ability's or the metric's
 *   (Schaeffer et al. 2023, "Are Emergent Abilities of Large Language Models a Mirage?").
 */
import {
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { applyChartTheme } from './chart-theme.ts';
import { formatCount, MODEL_COLORS } from './scaling-chart.ts';
import type { SweepPoint } from '../../workers/protocol.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);
applyChartTheme();

export type EmergenceAxis = 'N' | 'D' | 'C' | 'L';
export type EmergenceMetric = 'probe' | 'exact' | 'nats';

/** A point's score under `metric`, or null where it has none (no probe; a sweep without a task). */
export function metricOf(p: SweepPoint, metric: EmergenceMetric): number | null {
  if (metric === 'probe') return p.probe ? scoreFraction(p.probe) : null;
  if (!p.task) return null;
  return metric === 'exact' ? p.task.exactMatch : p.task.answerNats;
}

const METRIC_LABELS: Record<EmergenceMetric, string> = {
  probe: 'probe score / chance',
  exact: 'task exact match',
  nats: 'task answer nats',
};

interface XY {
  x: number;
  y: number;
}
export type EmergenceDataset = ChartDataset<'line', XY[]> & { yAxisID: 'loss' | 'score' };

/** The probe score as a fraction of chance (≤ 1 up to noise; below 0 when the second copy costs more). */
export const scoreFraction = (p: { score: number; chance: number }) => p.score / p.chance;

/** Each model's last point that has a score under `metric`, ordered by N: the sweep's end state per size. */
export function finalPoints(points: readonly SweepPoint[], metric: EmergenceMetric = 'probe'): SweepPoint[] {
  const last = new Map<number, SweepPoint>();
  for (const p of points) if (metricOf(p, metric) !== null && (last.get(p.model)?.step ?? -1) < p.step) last.set(p.model, p);
  return [...last.values()].sort((a, b) => a.N - b.N);
}

/** The x of a point on `axis`: its N, its tokens D, its training compute 6ND, or its loss. */
function xOf(p: SweepPoint, axis: EmergenceAxis): number {
  return axis === 'N' ? p.N : axis === 'D' ? p.D : axis === 'C' ? 6 * p.N * p.D : p.loss;
}

const LOSS_COLOR = '#2b5797';
const SCORE_COLOR = '#c4621b';

/**
 * The chart's datasets: against N, one loss line and one score line; against D or C, both per
 * model in the model's colour; against the loss, the score per model (the loss is the x axis).
 */
export function emergenceDatasets(
  points: readonly SweepPoint[],
  axis: EmergenceAxis,
  metric: EmergenceMetric = 'probe',
): EmergenceDataset[] {
  const label = METRIC_LABELS[metric];
  if (axis === 'N') {
    const ends = finalPoints(points, metric);
    return [
      {
        label: 'val loss (nats per character, left)',
        data: ends.map((p) => ({ x: p.N, y: p.loss })),
        yAxisID: 'loss',
        borderColor: LOSS_COLOR,
        backgroundColor: LOSS_COLOR,
        borderWidth: 2,
        pointRadius: 4,
      },
      {
        label: `${label} (right)`,
        data: ends.map((p) => ({ x: p.N, y: metricOf(p, metric)! })),
        yAxisID: 'score',
        borderColor: SCORE_COLOR,
        backgroundColor: SCORE_COLOR,
        borderWidth: 2,
        pointRadius: 4,
        pointStyle: 'rectRot',
      },
    ];
  }
  const scored = points.filter((p) => metricOf(p, metric) !== null);
  const models = [...new Set(scored.map((p) => p.model))].sort((a, b) => a - b);
  return models.flatMap((m): EmergenceDataset[] => {
    const own = scored.filter((p) => p.model === m).sort((a, b) => xOf(a, axis) - xOf(b, axis));
    const color = MODEL_COLORS[m % MODEL_COLORS.length];
    const name = `N ${formatCount(own[0].N)}`;
    const score: EmergenceDataset = {
      label: `${name}: ${metric === 'probe' ? 'probe' : label}`,
      data: own.map((p) => ({ x: xOf(p, axis), y: metricOf(p, metric)! })),
      yAxisID: 'score',
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
      pointRadius: 3,
      pointStyle: 'rectRot',
    };
    if (axis === 'L') return [score];
    return [
      {
        label: `${name}: loss`,
        data: own.map((p) => ({ x: xOf(p, axis), y: p.loss })),
        yAxisID: 'loss',
        borderColor: color,
        backgroundColor: color,
        borderWidth: 1,
        borderDash: [5, 4],
        pointRadius: 2,
      },
      score,
    ];
  });
}

/**
 * An earlier sweep kept for comparison (the same ladder on arith with and without a scratchpad,
 * say): its datasets as emergenceDatasets draws them, dotted, faded and named as kept.
 */
export function keptDatasets(
  kept: { label: string; points: readonly SweepPoint[] } | null,
  axis: EmergenceAxis,
  metric: EmergenceMetric,
): EmergenceDataset[] {
  if (!kept) return [];
  return emergenceDatasets(kept.points, axis, metric).map((d) => ({
    ...d,
    label: `kept ${kept.label}: ${d.label}`,
    borderDash: [2, 3],
    borderColor: `${String(d.borderColor)}99`,
    backgroundColor: `${String(d.backgroundColor)}99`,
    pointStyle: 'triangle',
  }));
}

/**
 * The contrast in one sentence: between the two neighbouring model sizes where the probe score
 * changed most, how much the loss changed and how much the score did. Null with fewer than two sizes.
 */
export function emergenceReading(points: readonly SweepPoint[], metric: EmergenceMetric = 'probe'): string | null {
  const ends = finalPoints(points, metric);
  if (ends.length < 2) return null;
  const score = (p: SweepPoint) => metricOf(p, metric)!;
  let best = 1;
  for (let i = 2; i < ends.length; i++) {
    const jump = (j: number) => Math.abs(score(ends[j]) - score(ends[j - 1]));
    if (jump(i) > jump(best)) best = i;
  }
  const [a, b] = [ends[best - 1], ends[best]];
  const pct = (x: number) => `${Math.round(100 * x)}%`;
  const change = (b.loss - a.loss) / a.loss;
  const went =
    metric === 'probe'
      ? `the probe score went from ${pct(score(a))} to ${pct(score(b))} of chance`
      : metric === 'exact'
        ? `the task's exact match went from ${pct(score(a))} to ${pct(score(b))}`
        : `the task's answer went from ${score(a).toFixed(2)} to ${score(b).toFixed(2)} nats`;
  return (
    `From N = ${formatCount(a.N)} to ${formatCount(b.N)} the loss ${change <= 0 ? 'fell' : 'rose'} ${pct(Math.abs(change))} ` +
    `(${a.loss.toFixed(3)} → ${b.loss.toFixed(3)}) while ${went}.`
  );
}

const X_TITLES: Record<EmergenceAxis, string> = {
  N: 'N: non-embedding parameters',
  D: 'D: tokens (characters) trained on',
  C: 'C = 6ND: training FLOPs',
  L: 'val loss (nats per character)',
};

/** A chart with a logarithmic x axis, the loss on the left and the probe score (0 to 1) on the right. */
export function createEmergenceChart(canvas: HTMLCanvasElement) {
  const chart = new Chart<'line', XY[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: X_TITLES.N }, ticks: { maxRotation: 0 } },
        loss: { type: 'linear', position: 'left', title: { display: true, text: 'val loss (nats per character)' } },
        score: {
          type: 'linear',
          position: 'right',
          min: -0.1,
          max: 1.1,
          title: { display: true, text: 'probe score / chance' },
          grid: { drawOnChartArea: false },
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { usePointStyle: true, boxWidth: 10, font: { size: 11 } } },
        tooltip: { mode: 'nearest', intersect: false },
      },
    },
  });
  return {
    draw(datasets: EmergenceDataset[], axis: EmergenceAxis, metric: EmergenceMetric = 'probe') {
      chart.data.datasets = datasets;
      const scales = chart.options.scales as Record<
        string,
        { type?: string; title?: { text: string }; min?: number; max?: number; display?: boolean }
      >;
      scales.x.type = axis === 'L' ? 'linear' : 'logarithmic';
      scales.x.title!.text = X_TITLES[axis];
      scales.loss.display = axis !== 'L'; // against the loss, the loss is the x axis
      scales.score.title!.text = METRIC_LABELS[metric];
      // Fractions (the probe's, exact match) on a fixed scale; nats from 0 up.
      [scales.score.min, scales.score.max] = metric === 'nats' ? [0, undefined] : [-0.1, 1.1];
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
}
