/**
 * The two small charts of "Inside the model", as pure data for Chart.js plus the one function that
 * makes a chart: loss by position (with the n-gram levels at 0, 1 and 2 characters of context)
 * and the in-context probe over training.
 */
import {
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
} from 'chart.js';
import type { ProbePoint } from '../core/icl.ts';
import type { ReferenceLoss } from '../../workers/protocol.ts';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, Legend, Tooltip);

export interface XY {
  x: number;
  y: number;
}
export type InsideDataset = ChartDataset<'line', XY[]>;

/** The n-gram each context length stands for: n − 1 characters of context. */
const NGRAM_CONTEXT: Record<string, number> = { unigram: 0, bigram: 1, trigram: 2 };

/**
 * Loss by position: the model's held-out loss after t characters of context (t = 1..ctx), the
 * validation loss (the curve's mean) across it, the unigram, bigram and trigram levels at the
 * context each of them uses (0, 1, 2), and the entropy floor of a synthetic corpus.
 */
export function positionDatasets(loss: readonly number[], references: readonly ReferenceLoss[]): InsideDataset[] {
  const T = loss.length;
  const mean = loss.reduce((a, b) => a + b, 0) / Math.max(1, T);
  const ngrams = references.filter((r) => r.label in NGRAM_CONTEXT).map((r) => ({ x: NGRAM_CONTEXT[r.label], y: r.nats }));
  const floor = references.find((r) => r.kind === 'floor');
  const sets: InsideDataset[] = [
    {
      label: 'model, held-out loss at this position',
      data: loss.map((y, i) => ({ x: i + 1, y })),
      borderColor: '#2b5797',
      backgroundColor: '#2b5797',
      pointRadius: 0,
      borderWidth: 2,
    },
    {
      label: `validation loss (the mean), ${mean.toFixed(3)}`,
      data: [
        { x: 0, y: mean },
        { x: T, y: mean },
      ],
      borderColor: '#7a8aa6',
      borderDash: [5, 4],
      pointRadius: 0,
      borderWidth: 1,
    },
    {
      label: 'unigram, bigram, trigram (0, 1, 2 characters of context)',
      data: ngrams,
      borderColor: '#c4621b',
      backgroundColor: '#c4621b',
      showLine: true,
      pointRadius: 4,
      borderWidth: 1,
    },
  ];
  if (floor)
    sets.push({
      label: `entropy floor, ${floor.nats.toFixed(3)}`,
      data: [
        { x: 0, y: floor.nats },
        { x: T, y: floor.nats },
      ],
      borderColor: '#3a8a3a',
      borderDash: [2, 3],
      pointRadius: 0,
      borderWidth: 1,
    });
  return sets;
}

/** The probe over training: loss on the first copy, on the second, and chance. */
export function probeDatasets(points: readonly ProbePoint[]): InsideDataset[] {
  const last = points.at(-1);
  const span = points.length ? [points[0].step, last!.step] : [];
  return [
    {
      label: 'first copy (nothing to copy from)',
      data: points.map((p) => ({ x: p.step, y: p.first })),
      borderColor: '#7a8aa6',
      backgroundColor: '#7a8aa6',
      pointRadius: 2,
      borderWidth: 2,
    },
    {
      label: 'second copy (can be copied)',
      data: points.map((p) => ({ x: p.step, y: p.second })),
      borderColor: '#c4621b',
      backgroundColor: '#c4621b',
      pointRadius: 2,
      borderWidth: 2,
    },
    {
      label: last ? `chance, ln ${Math.round(Math.exp(last.chance))} = ${last.chance.toFixed(2)}` : 'chance',
      data: span.map((x) => ({ x, y: last!.chance })),
      borderColor: '#999',
      borderDash: [4, 4],
      pointRadius: 0,
      borderWidth: 1,
    },
  ];
}

function options(xTitle: string, yTitle: string): ChartOptions<'line'> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    scales: {
      x: { type: 'linear', title: { display: true, text: xTitle } },
      y: { type: 'linear', title: { display: true, text: yTitle } },
    },
    plugins: {
      legend: { position: 'bottom', labels: { boxWidth: 12, font: { size: 11 } } },
      tooltip: {
        callbacks: { label: (c) => `${c.dataset.label}: ${(c.parsed.y ?? 0).toFixed(3)} nats` },
      },
    },
  };
}

/** A line chart on a canvas; `set` replaces its datasets and redraws. */
export function createInsideChart(canvas: HTMLCanvasElement, xTitle: string, yTitle: string) {
  const chart = new Chart<'line', XY[]>(canvas, { type: 'line', data: { datasets: [] }, options: options(xTitle, yTitle) });
  return {
    set(datasets: InsideDataset[]) {
      chart.data.datasets = datasets;
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
}
