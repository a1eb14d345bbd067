/**
 * The Runs view's chart: each selected run's minibatch loss (a thin line) and validation loss
 * (dots) against its step on a log axis, one colour per run, so runs of different lengths and
 * settings can be read against each other.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip } from 'chart.js';
import { applyChartTheme } from './chart-theme.ts';
import type { RunCurve } from './runs.svelte.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

/** One colour per selected run, in selection order (a colour-blind-safe set). */
const COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];

export function createRunsChart(canvas: HTMLCanvasElement) {
  applyChartTheme();
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: 'step' } },
        y: { title: { display: true, text: 'loss (nats/char)' } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
  return {
    draw(curves: readonly RunCurve[]) {
      chart.data.datasets = curves.flatMap((c, i) => {
        const color = COLORS[i % COLORS.length];
        return [
          {
            label: `${c.name}: minibatch`,
            data: c.losses.filter((l) => l.step > 0 && Number.isFinite(l.loss)).map((l) => ({ x: l.step, y: l.loss })),
            borderColor: `${color}66`, // faint: the noisy curve under the evaluations
            borderWidth: 1,
            pointRadius: 0,
          },
          {
            label: `${c.name}: val`,
            data: c.evals.filter((e) => e.step > 0).map((e) => ({ x: e.step, y: e.val })),
            borderColor: color,
            backgroundColor: color,
            pointRadius: 3,
          },
        ];
      });
      chart.update();
    },
    /** Runs drawn (each a minibatch curve and its evaluations), for the page's tests. */
    lineCount: () => new Set(chart.data.datasets.filter((d) => d.data.length > 0).map((d) => String(d.label).split(': ')[0])).size,
    destroy: () => chart.destroy(),
  };
}
