/**
 * Emergence against scaling, in the Scaling lab: a sweep's held-out loss beside its in-context
 * probe score (src/core/icl.ts), against N (each model's last point) or against tokens D (every
 * point of every model). The loss falls smoothly with scale; the ability to copy a sequence seen
 * earlier in the context tends to appear abruptly: the contrast between scaling laws and
 * "emergent abilities". The score is drawn as a fraction of chance, ln(characters drawn from),
 * which an induction head approaches: 0 is no in-context learning, 1 a free second copy.
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

export type EmergenceAxis = 'N' | 'D';

interface XY {
  x: number;
  y: number;
}
export type EmergenceDataset = ChartDataset<'line', XY[]> & { yAxisID: 'loss' | 'score' };

/** The probe score as a fraction of chance (≤ 1 up to noise; below 0 when the second copy costs more). */
export const scoreFraction = (p: { score: number; chance: number }) => p.score / p.chance;

/** Each model's last point that carries a probe, ordered by N: the sweep's end state per size. */
export function finalPoints(points: readonly SweepPoint[]): (SweepPoint & { probe: { score: number; chance: number } })[] {
  const last = new Map<number, SweepPoint & { probe: { score: number; chance: number } }>();
  for (const p of points) if (p.probe && (last.get(p.model)?.step ?? -1) < p.step) last.set(p.model, p as never);
  return [...last.values()].sort((a, b) => a.N - b.N);
}

const LOSS_COLOR = '#2b5797';
const SCORE_COLOR = '#c4621b';

/** The chart's datasets: against N, one loss line and one score line; against D, both per model in the model's colour. */
export function emergenceDatasets(points: readonly SweepPoint[], axis: EmergenceAxis): EmergenceDataset[] {
  if (axis === 'N') {
    const ends = finalPoints(points);
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
        label: 'probe score, fraction of chance (right)',
        data: ends.map((p) => ({ x: p.N, y: scoreFraction(p.probe) })),
        yAxisID: 'score',
        borderColor: SCORE_COLOR,
        backgroundColor: SCORE_COLOR,
        borderWidth: 2,
        pointRadius: 4,
        pointStyle: 'rectRot',
      },
    ];
  }
  const models = [...new Set(points.filter((p) => p.probe).map((p) => p.model))].sort((a, b) => a - b);
  return models.flatMap((m): EmergenceDataset[] => {
    const own = points.filter((p) => p.model === m && p.probe).sort((a, b) => a.D - b.D);
    const color = MODEL_COLORS[m % MODEL_COLORS.length];
    const name = `N ${formatCount(own[0].N)}`;
    return [
      {
        label: `${name}: loss`,
        data: own.map((p) => ({ x: p.D, y: p.loss })),
        yAxisID: 'loss',
        borderColor: color,
        backgroundColor: color,
        borderWidth: 1,
        borderDash: [5, 4],
        pointRadius: 2,
      },
      {
        label: `${name}: probe`,
        data: own.map((p) => ({ x: p.D, y: scoreFraction(p.probe!) })),
        yAxisID: 'score',
        borderColor: color,
        backgroundColor: color,
        borderWidth: 2,
        pointRadius: 3,
        pointStyle: 'rectRot',
      },
    ];
  });
}

/**
 * The contrast in one sentence: between the two neighbouring model sizes where the probe score
 * changed most, how much the loss changed and how much the score did. Null with fewer than two sizes.
 */
export function emergenceReading(points: readonly SweepPoint[]): string | null {
  const ends = finalPoints(points);
  if (ends.length < 2) return null;
  let best = 1;
  for (let i = 2; i < ends.length; i++) {
    const jump = (j: number) => Math.abs(scoreFraction(ends[j].probe) - scoreFraction(ends[j - 1].probe));
    if (jump(i) > jump(best)) best = i;
  }
  const [a, b] = [ends[best - 1], ends[best]];
  const pct = (x: number) => `${Math.round(100 * x)}%`;
  const change = (b.loss - a.loss) / a.loss;
  return (
    `From N = ${formatCount(a.N)} to ${formatCount(b.N)} the loss ${change <= 0 ? 'fell' : 'rose'} ${pct(Math.abs(change))} ` +
    `(${a.loss.toFixed(3)} → ${b.loss.toFixed(3)}) while the probe score went from ${pct(scoreFraction(a.probe))} ` +
    `to ${pct(scoreFraction(b.probe))} of chance.`
  );
}

const X_TITLES: Record<EmergenceAxis, string> = { N: 'N: non-embedding parameters', D: 'D: tokens (characters) trained on' };

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
    draw(datasets: EmergenceDataset[], axis: EmergenceAxis) {
      chart.data.datasets = datasets;
      (chart.options.scales!.x as { title: { text: string } }).title.text = X_TITLES[axis];
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
}
