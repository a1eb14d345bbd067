/**
 * The loss chart: Chart.js with only the parts a line chart on linear axes needs. Created once
 * per canvas; new data replaces the old and redraws without animation.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

/** A point of a loss curve: x is the step, y the loss in nats per character. */
export interface Point {
  x: number;
  y: number;
}

export interface LossChart {
  setData(train: readonly Point[], val: readonly Point[]): void;
  destroy(): void;
}

export function createLossChart(canvas: HTMLCanvasElement): LossChart {
  const chart = new Chart<'line', Point[]>(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: 'train (minibatch)', data: [], borderColor: '#4a78c2', borderWidth: 1.5, pointRadius: 0 },
        { label: 'val', data: [], borderColor: '#d0672a', borderWidth: 2, pointRadius: 3 },
      ],
    },
    options: {
      animation: false, // a redraw per readback: animating each would only lag behind
      parsing: false, // the points are already {x, y}
      normalized: true, // x increases, so Chart.js may skip sorting
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'step' } },
        y: { type: 'linear', title: { display: true, text: 'loss (nats/char)' } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
  return {
    setData(train, val) {
      // Copies: Chart.js patches the arrays it is given, and these belong to the page's state.
      chart.data.datasets[0].data = train.slice();
      chart.data.datasets[1].data = val.slice();
      chart.update('none');
    },
    destroy() {
      chart.destroy();
    },
  };
}
