/**
 * The task chart: a run on a task's corpus, scored after each evaluation (workers/task-eval.ts),
 * with exact match (the share of held-out problems whose greedy line is the answer, a
 * discontinuous metric) on the left axis and the answer's nats (continuous) on the right, against
 * the step: an ability that looks sudden under one and gradual under the other shows both here.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import type { TaskEvent } from '../../workers/protocol.ts';
import { applyChartTheme } from './chart-theme.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

type XY = { x: number; y: number };

/** The chart's two series: exact match in percent and answer nats, at each scored step. */
export function taskSeries(tasks: readonly TaskEvent[]): { exact: XY[]; nats: XY[] } {
  const ok = tasks.filter((t) => t.error === undefined);
  return { exact: ok.map((t) => ({ x: t.step, y: 100 * t.exactMatch })), nats: ok.map((t) => ({ x: t.step, y: t.answerNats })) };
}

/**
 * The first scored step at which exact match reached half its final value, having been under a
 * tenth of it before: where it "rose"; null while it has not risen above 0.
 */
export function riseStep(tasks: readonly TaskEvent[]): number | null {
  const ok = tasks.filter((t) => t.error === undefined);
  const top = Math.max(0, ...ok.map((t) => t.exactMatch));
  if (top <= 0) return null;
  return ok.find((t) => t.exactMatch >= top / 2)?.step ?? null;
}

export interface TaskChart {
  draw(tasks: readonly TaskEvent[]): void;
  pointCount(): number;
  destroy(): void;
}

export function createTaskChart(canvas: HTMLCanvasElement): TaskChart {
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
        exact: { type: 'linear', position: 'left', min: 0, max: 100, title: { display: true, text: 'exact match (%)' } },
        nats: {
          type: 'linear',
          position: 'right',
          min: 0,
          grid: { drawOnChartArea: false },
          title: { display: true, text: 'answer (nats)' },
        },
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 24, boxHeight: 2 } }, tooltip: { mode: 'nearest', intersect: false } },
    },
  });
  return {
    draw(tasks) {
      const { exact, nats } = taskSeries(tasks);
      const sets: ChartDataset<'line', XY[]>[] = [
        {
          label: 'exact match (greedy line is the answer)',
          data: exact,
          yAxisID: 'exact',
          borderColor: '#2a6b2f',
          backgroundColor: '#2a6b2f',
          borderWidth: 2,
          pointRadius: 2,
        },
        {
          label: '−log p(answer | prompt), nats',
          data: nats,
          yAxisID: 'nats',
          borderColor: '#a04b0e',
          backgroundColor: '#a04b0e',
          borderWidth: 1.5,
          borderDash: [5, 3],
          pointRadius: 2,
        },
      ];
      chart.data.datasets = sets;
      count = exact.length;
      chart.update();
    },
    pointCount: () => count,
    destroy: () => chart.destroy(),
  };
}
