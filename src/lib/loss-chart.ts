/**
 * The loss chart: Chart.js with only the parts a line chart on linear axes needs, decimation
 * included. Created once per canvas. Each redraw either appends to the point arrays its
 * datasets already hold, or, when the view or the runs shown change, replaces the datasets.
 *
 * Read top-down: createLossChart, then the pieces it is made of: the options (legend, tooltip),
 * the datasets, the axes. What is drawn over the curves is in loss-chart-marks.ts.
 */
import {
  Chart,
  Decimation,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartData,
  type ChartDataset,
  type ChartOptions,
  type LegendItem,
  type ScriptableContext,
} from 'chart.js';
import { applyChartTheme } from './chart-theme.ts';
import { ChartSeries, formatLoss, formatX, fromAxis, logTicks, type ChartView, type Point, type ShownRun } from './chart-series.ts';
import { noOverlay, overlayMarks, referenceCoord, referenceLines, type Marks, type Overlay } from './loss-chart-marks.ts';
import type { ForecastShape } from './learning-curve.ts';
import type { ReferenceLoss } from '../../workers/protocol.ts';
import type { RunRecord } from './history.ts';

export type { Overlay };

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip, Decimation);
applyChartTheme();

/** A dataset with what the legend and tooltip need besides Chart.js's own fields. */
export type Dataset = ChartDataset<'line', Point[]> & {
  group: string; // datasets toggled together by one legend item: an earlier run's train and val
  rank: number; // place in the legend, which need not be the drawing order
  inLegend: boolean;
};

export const xTitles: Record<ChartView['x'], string> = {
  step: 'step',
  tokens: 'tokens (characters) seen',
  flops: 'training FLOPs (Kaplan: 6N + attention per token)',
};

const xNames: Record<ChartView['x'], string> = { step: 'step', tokens: 'tokens', flops: 'training FLOPs' };

/** The options of Chart.js's plugins, each as deeply optional as ChartOptions has it. */
type PluginOptions = NonNullable<ChartOptions<'line'>['plugins']>;

// Earlier runs, by id, so a run keeps its colour as later ones come and go.
const earlierColors = ['#2a9d8f', '#8e5ac8', '#b5892c', '#c2477a', '#5c8a3a', '#6b6b6b'];

export interface LossChart {
  /** Brings the chart up to date with the runs; returns the run the latest values belong to. */
  sync(records: readonly RunRecord[], active: boolean, view: ChartView): ShownRun | undefined;
  /** Points handed to Chart.js over all datasets (before decimation): what tests can check. */
  pointCount(): number;
  /** Horizontal reference lines (entropy floor, n-gram baselines) of the current run. */
  setReferences(refs: readonly ReferenceLoss[]): void;
  /** The current run's forecast and spike markers, in the axis coordinates of the view synced next; drawn by the next sync. */
  setOverlay(overlay: Overlay): void;
  /** The chart as a PNG on white (the canvas itself is transparent). */
  toPng(): Promise<Blob>;
  destroy(): void;
}

export function createLossChart(canvas: HTMLCanvasElement): LossChart {
  const series = new ChartSeries();
  const marks: Marks = { view: null, references: [], overlay: noOverlay };
  let overlayChanged = false; // set since the last draw: sync draws even with no new points
  const hidden = new Set<string>(); // legend groups switched off, remembered across rebuilds

  const chart = new Chart<'line', Point[]>(canvas, {
    type: 'line',
    plugins: [referenceLines(marks), overlayMarks(marks)],
    data: { datasets: [] },
    options: chartOptions(marks, hidden),
  });

  return {
    sync(records, active, v) {
      switch (series.sync(records, active, v)) {
        case 'rebuilt':
          marks.view = { ...v };
          chart.options.scales = lossScales(marks.view, marks);
          chart.data.datasets = lossDatasets(series.runs, hidden);
          // The current run's curves are named by kind; its label says which run they are.
          chart.options.plugins!.legend!.title = {
            display: series.current !== undefined,
            text: series.current ? `current run: ${series.current.label}` : '',
          };
          chart.update('none');
          break;
        case 'appended':
          chart.update('none');
          break;
        case 'unchanged':
          if (overlayChanged) chart.update('none');
          break;
      }
      overlayChanged = false;
      return series.current ?? series.runs.at(-1);
    },
    setReferences(refs) {
      const { references } = marks;
      const same =
        refs.length === references.length && refs.every((r, i) => r.nats === references[i].nats && r.label === references[i].label);
      if (same) return;
      marks.references = refs.slice();
      chart.update('none');
    },
    setOverlay(next) {
      const { overlay } = marks;
      if (next.forecast === null && overlay.forecast === null && next.spikes.length === 0 && overlay.spikes.length === 0) return;
      marks.overlay = next;
      overlayChanged = true;
    },
    toPng: () => pngOnWhite(canvas),
    pointCount() {
      return chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
    },
    destroy() {
      chart.destroy();
    },
  };
}

/** The options fixed for the chart's life; the axes are set with each rebuild, by lossScales. */
function chartOptions(marks: Marks, hidden: Set<string>): ChartOptions<'line'> {
  return {
    animation: false, // a redraw per frame: animating each would only lag behind
    parsing: false, // the points are already {x, y}; the decimation plugin requires it
    normalized: true, // x increases within each dataset, so Chart.js may skip sorting
    maintainAspectRatio: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    plugins: {
      // LTTB keeps about a point per pixel that preserves the curve's shape. min-max keeps up
      // to four per pixel column, and drawing those made each redraw of 3×100k points ~4x slower.
      // On a log axis it sees log10 values, so it thins the curve as drawn.
      decimation: { enabled: true, algorithm: 'lttb' },
      legend: legendOptions(hidden),
      tooltip: tooltipOptions(marks),
    },
  };
}

/** The dataset a legend item stands for. */
function datasetOf(item: LegendItem, data: ChartData): Dataset | undefined {
  return item.datasetIndex === undefined ? undefined : (data.datasets[item.datasetIndex] as Dataset | undefined);
}

/** One legend item per group, in rank order; a click hides or shows the whole group. */
function legendOptions(hidden: Set<string>): PluginOptions['legend'] {
  return {
    position: 'bottom',
    labels: {
      usePointStyle: true,
      pointStyle: 'line',
      pointStyleWidth: 22,
      filter: (item, data) => datasetOf(item, data)?.inLegend ?? true,
      sort: (a, b, data) => (datasetOf(a, data)?.rank ?? 0) - (datasetOf(b, data)?.rank ?? 0),
    },
    onClick: (_event, item, { chart }) => {
      const group = datasetOf(item, chart.data)?.group;
      if (group === undefined) return;
      const hide = !hidden.has(group);
      if (hide) hidden.add(group);
      else hidden.delete(group);
      (chart.data.datasets as Dataset[]).forEach((d, i) => {
        if (d.group === group) chart.setDatasetVisibility(i, !hide);
      });
      chart.update('none');
    },
  };
}

/** The tooltip names the x value and gives each curve's loss there, in the view's units. */
function tooltipOptions(marks: Marks): PluginOptions['tooltip'] {
  return {
    callbacks: {
      title: (items) => {
        const { view } = marks;
        return view && items.length ? `${xNames[view.x]} ${formatX(fromAxis(items[0].parsed.x ?? NaN, view.logX), view.x)}` : '';
      },
      label: (item) => {
        const { view } = marks;
        return view ? `${item.dataset.label}: ${formatLoss(fromAxis(item.parsed.y ?? NaN, view.logY))} ${view.y}/char` : '';
      },
    },
  };
}

/**
 * The datasets for the runs shown, in drawing order: the first is drawn last, on top. The
 * current run's val, smoothed and raw train losses, then each earlier run's smoothed train and
 * val, faded, toggled together by one legend item. Groups in `hidden` start hidden.
 */
export function lossDatasets(runs: readonly ShownRun[], hidden: ReadonlySet<string>): Dataset[] {
  const dataset = (label: string, data: Point[], color: string, group: string, rank: number, more: Partial<Dataset> = {}): Dataset => ({
    label,
    data,
    borderColor: color,
    backgroundColor: color, // the legend's and tooltip's swatches
    borderWidth: 1.5,
    pointRadius: 0,
    pointHitRadius: 4,
    group,
    rank,
    inLegend: true,
    hidden: hidden.has(group),
    ...more,
  });
  // Val losses as dots, while there are few enough of them to stay apart.
  const dots = (radius: number) => (ctx: ScriptableContext<'line'>) => (ctx.dataset.data.length > 150 ? 0 : radius);

  const out: Dataset[] = [];
  const current = runs.find((r) => r.current);
  if (current) {
    const s = current.series;
    out.push(
      dataset('val', s.val, '#d0672a', 'val', 2, { pointRadius: dots(2.5) }),
      dataset('train (smoothed)', s.smoothed, '#2f5fa8', 'smoothed', 1, { borderWidth: 2 }),
      dataset('train (minibatch)', s.train, '#4a78c259', 'train', 0, { borderWidth: 1 }),
    );
  }
  for (const r of runs) {
    if (r.current) continue;
    const faded = `${earlierColors[(r.id - 1) % earlierColors.length]}8c`; // 55% opaque
    const group = `run-${r.id}`;
    out.push(
      dataset(r.label, r.series.smoothed, faded, group, 2 + r.id),
      // Toggled with the run's train curve by its one legend item.
      dataset(`${r.label} val`, r.series.val, faded, group, 2 + r.id, {
        borderWidth: 1,
        borderDash: [4, 3],
        pointRadius: dots(1.5),
        inLegend: false,
      }),
    );
  }
  return out;
}

/**
 * Both axes for view `v`: linear scales over the values or their log10, with log ticks placed
 * by hand. Their limits stretch, when Chart.js asks, to what `marks` holds by then.
 */
function lossScales(v: ChartView, marks: Marks): ChartOptions<'line'>['scales'] {
  const log = (on: boolean) => (on ? ' (log scale)' : '');
  return {
    x: {
      type: 'linear',
      bounds: 'data', // the curve reaches the right edge as it grows
      // ...or, with a forecast, the axis reaches the last step so the forecast's end is in view.
      afterDataLimits: (scale) => {
        const band = marks.overlay.forecast?.band;
        if (band) scale.max = Math.max(scale.max, band.x);
        // An empty chart (or a single point) gets a span of its own, not 0…1 in tenths printed as "0 0 0 1 1".
        if (!v.logX && scale.max - scale.min < 10) scale.max = scale.min + 10;
      },
      title: { display: true, text: xTitles[v.x] + log(v.logX) },
      afterBuildTicks: (scale) => {
        if (v.logX) scale.ticks = logTicks(scale.min, scale.max).map((value) => ({ value }));
      },
      // Round ticks only: the data's own end as a tick (step 143 beside 140) would print over its neighbour.
      ticks: { callback: (value) => formatX(fromAxis(Number(value), v.logX), v.x), maxRotation: 0, precision: 0, includeBounds: false },
    },
    y: {
      type: 'linear',
      beginAtZero: false,
      ...(v.logY ? { bounds: 'data' as const, grace: '4%' } : {}),
      title: { display: true, text: `loss (${v.y}/char)${log(v.logY)}` },
      afterDataLimits: (scale) => {
        const { min, max } = yLimits(scale, marks.references, v, marks.overlay.forecast?.band);
        scale.min = min;
        scale.max = max;
      },
      afterBuildTicks: (scale) => {
        if (v.logY) scale.ticks = logTicks(scale.min, scale.max).map((value) => ({ value }));
      },
      ticks: { callback: (value) => formatLoss(fromAxis(Number(value), v.logY)) },
    },
  };
}

/**
 * The y axis's limits, in axis coordinates, stretched from the data's: reference lines stay in
 * view (the floor below a young model's loss is the point of it), and so does the forecast's
 * band, unless a wild fit would squash the curves: it may add at most a quarter of the span.
 */
export function yLimits(
  data: { min: number; max: number },
  references: readonly ReferenceLoss[],
  v: ChartView,
  band: ForecastShape['band'] | undefined,
): { min: number; max: number } {
  let { min, max } = data;
  for (const r of references) {
    const coord = referenceCoord(r, v);
    if (coord === null) continue;
    min = Math.min(min, coord);
    max = Math.max(max, coord);
  }
  const span = max - min;
  if (band && span > 0) {
    min = Math.min(min, Math.max(band.lo, min - 0.25 * span));
    max = Math.max(max, Math.min(band.hi, max + 0.25 * span));
  }
  return { min, max };
}

/** The canvas as a PNG on white: the canvas itself is transparent. */
function pngOnWhite(canvas: HTMLCanvasElement): Promise<Blob> {
  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = canvas.height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  return new Promise((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode the chart as PNG'))), 'image/png'),
  );
}
