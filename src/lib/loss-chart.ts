/**
 * The loss chart: Chart.js with only the parts a line chart on linear axes needs, decimation
 * included. Created once per canvas. Each redraw either appends to the point arrays its
 * datasets already hold, or, when the view or the runs shown change, replaces the datasets.
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
  type ChartDataset,
  type ChartOptions,
  type LegendItem,
  type Plugin,
  type ScriptableContext,
} from 'chart.js';
import { ChartSeries, formatLoss, formatX, fromAxis, lossIn, logTicks, toAxis, type ChartView, type Point, type ShownRun } from './chart-series.ts';
import type { ForecastShape } from './learning-curve.ts';
import type { ReferenceLoss } from '../../workers/protocol.ts';
import type { RunRecord } from './history.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip, Decimation);

/** A dataset with what the legend and tooltip need besides Chart.js's own fields. */
type Dataset = ChartDataset<'line', Point[]> & {
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

/** What is drawn over the curves: the forecast (dashed, with its band at the right) and spikes (red rings). */
export interface Overlay {
  forecast: ForecastShape | null;
  spikes: Point[];
}

const noOverlay: Overlay = { forecast: null, spikes: [] };

/** A reference loss's y coordinate on the axis of `v`, or null where the axis cannot show it. */
function referenceCoord(r: ReferenceLoss, v: ChartView): number | null {
  return toAxis(lossIn(r.nats, v.y), v.logY);
}

export function createLossChart(canvas: HTMLCanvasElement): LossChart {
  const series = new ChartSeries();
  let references: readonly ReferenceLoss[] = [];

  // Dashed lines across the plot with their names: the floor no model can beat is dotted.
  const referenceLines: Plugin<'line'> = {
    id: 'referenceLines',
    afterDatasetsDraw(c) {
      if (!view || references.length === 0) return;
      const { ctx, chartArea: area, scales } = c;
      ctx.save();
      ctx.font = '11px system-ui, sans-serif';
      const labelled: { y: number; right: boolean }[] = [];
      for (const r of references) {
        const coord = referenceCoord(r, view);
        if (coord === null) continue;
        const y = scales.y.getPixelForValue(coord);
        if (y < area.top || y > area.bottom) continue;
        ctx.strokeStyle = ctx.fillStyle = r.kind === 'floor' ? '#1b7a3a' : '#777';
        ctx.setLineDash(r.kind === 'floor' ? [2, 3] : [6, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, y);
        ctx.lineTo(area.right, y);
        ctx.stroke();
        // Labels sit at the right end; one that would overprint a label on that side goes left.
        const right = !labelled.some((l) => l.right && Math.abs(l.y - y) < 12);
        labelled.push({ y, right });
        ctx.textAlign = right ? 'right' : 'left';
        ctx.fillText(`${r.label} ${formatLoss(lossIn(r.nats, view.y))}`, right ? area.right - 4 : area.left + 4, y - 3);
      }
      ctx.restore();
    },
  };
  let overlay: Overlay = noOverlay;
  let overlayChanged = false; // set since the last draw: sync draws even with no new points

  // The forecast and the spikes are drawn here rather than as datasets: they are redrawn whole
  // when refitted, stay out of the legend and the tooltip, and are not decimated.
  const overlayMarks: Plugin<'line'> = {
    id: 'overlayMarks',
    afterDatasetsDraw(c) {
      const { ctx, chartArea: area, scales } = c;
      const px = (x: number) => scales.x.getPixelForValue(x);
      const py = (y: number) => scales.y.getPixelForValue(y);
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      const f = overlay.forecast;
      if (f) {
        ctx.strokeStyle = ctx.fillStyle = '#2f5fa8';
        ctx.lineWidth = 2;
        ctx.setLineDash([8, 5]); // longer dashes than the reference lines', which it may run along
        ctx.beginPath();
        f.curve.forEach((p, i) => (i ? ctx.lineTo(px(p.x), py(p.y)) : ctx.moveTo(px(p.x), py(p.y))));
        ctx.stroke();
        if (f.band) {
          // The band as a bar at maxSteps: it bounds the final loss, not the path there.
          const x = Math.min(px(f.band.x), area.right - 4);
          const top = py(f.band.hi);
          const bottom = py(f.band.lo);
          ctx.setLineDash([]);
          ctx.font = '11px system-ui, sans-serif';
          ctx.textAlign = 'right';
          ctx.fillText('forecast', x - 7, bottom + 12);
          ctx.fillStyle = '#2f5fa833';
          ctx.fillRect(x - 4, top - 1, 8, bottom - top + 2);
          ctx.lineWidth = 1.5;
          ctx.strokeRect(x - 4, top - 1, 8, bottom - top + 2);
        }
      }
      ctx.setLineDash([]);
      ctx.strokeStyle = '#d62728';
      ctx.lineWidth = 2;
      for (const p of overlay.spikes) {
        ctx.beginPath();
        ctx.arc(px(p.x), py(p.y), 5, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.restore();
    },
  };
  const hidden = new Set<string>(); // legend groups switched off, remembered across rebuilds
  let view: ChartView | null = null; // what the axes' callbacks format for

  const chart = new Chart<'line', Point[]>(canvas, {
    type: 'line',
    plugins: [referenceLines, overlayMarks],
    data: { datasets: [] },
    options: {
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
        legend: {
          position: 'bottom',
          labels: {
            usePointStyle: true,
            pointStyle: 'line',
            pointStyleWidth: 22,
            filter: (item) => datasetOf(item)?.inLegend ?? true,
            sort: (a, b) => (datasetOf(a)?.rank ?? 0) - (datasetOf(b)?.rank ?? 0),
          },
          onClick: (_event, item) => {
            const group = datasetOf(item)?.group;
            if (group === undefined) return;
            const hide = !hidden.has(group);
            if (hide) hidden.add(group);
            else hidden.delete(group);
            (chart.data.datasets as Dataset[]).forEach((d, i) => {
              if (d.group === group) chart.setDatasetVisibility(i, !hide);
            });
            chart.update('none');
          },
        },
        tooltip: {
          callbacks: {
            title: (items) =>
              view && items.length ? `${xNames[view.x]} ${formatX(fromAxis(items[0].parsed.x ?? NaN, view.logX), view.x)}` : '',
            label: (item) =>
              view ? `${item.dataset.label}: ${formatLoss(fromAxis(item.parsed.y ?? NaN, view.logY))} ${view.y}/char` : '',
          },
        },
      },
    },
  });

  function datasetOf(item: LegendItem): Dataset | undefined {
    return item.datasetIndex === undefined ? undefined : (chart.data.datasets[item.datasetIndex] as Dataset | undefined);
  }

  function datasets(runs: ShownRun[]): Dataset[] {
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
    // The first dataset is drawn last, on top: the current run's val, smoothed, then raw.
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

  function scales(v: ChartView): ChartOptions<'line'>['scales'] {
    const log = (on: boolean) => (on ? ' (log scale)' : '');
    return {
      x: {
        type: 'linear',
        bounds: 'data', // the curve reaches the right edge as it grows
        // ...or, with a forecast, the axis reaches the last step so the forecast's end is in view.
        afterDataLimits: (scale) => {
          const band = overlay.forecast?.band;
          if (band) scale.max = Math.max(scale.max, band.x);
        },
        title: { display: true, text: xTitles[v.x] + log(v.logX) },
        afterBuildTicks: (scale) => {
          if (v.logX) scale.ticks = logTicks(scale.min, scale.max).map((value) => ({ value }));
        },
        ticks: { callback: (value) => formatX(fromAxis(Number(value), v.logX), v.x), maxRotation: 0 },
      },
      y: {
        type: 'linear',
        beginAtZero: false,
        ...(v.logY ? { bounds: 'data' as const, grace: '4%' } : {}),
        title: { display: true, text: `loss (${v.y}/char)${log(v.logY)}` },
        // Reference lines stay in view: the floor below a young model's loss is the point of it.
        afterDataLimits: (scale) => {
          for (const r of references) {
            const coord = referenceCoord(r, v);
            if (coord === null) continue;
            scale.min = Math.min(scale.min, coord);
            scale.max = Math.max(scale.max, coord);
          }
          // The forecast's band stays in view too, unless a wild fit would squash the curves.
          const band = overlay.forecast?.band;
          const span = scale.max - scale.min;
          if (band && span > 0) {
            scale.min = Math.min(scale.min, Math.max(band.lo, scale.min - 0.25 * span));
            scale.max = Math.max(scale.max, Math.min(band.hi, scale.max + 0.25 * span));
          }
        },
        afterBuildTicks: (scale) => {
          if (v.logY) scale.ticks = logTicks(scale.min, scale.max).map((value) => ({ value }));
        },
        ticks: { callback: (value) => formatLoss(fromAxis(Number(value), v.logY)) },
      },
    };
  }

  return {
    sync(records, active, v) {
      switch (series.sync(records, active, v)) {
        case 'rebuilt':
          view = { ...v };
          chart.options.scales = scales(view);
          chart.data.datasets = datasets(series.runs);
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
      const same = refs.length === references.length && refs.every((r, i) => r.nats === references[i].nats && r.label === references[i].label);
      if (same) return;
      references = refs.slice();
      chart.update('none');
    },
    setOverlay(next) {
      if (next.forecast === null && overlay.forecast === null && next.spikes.length === 0 && overlay.spikes.length === 0) return;
      overlay = next;
      overlayChanged = true;
    },
    toPng() {
      const out = document.createElement('canvas');
      out.width = canvas.width;
      out.height = canvas.height;
      const ctx = out.getContext('2d')!;
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, out.width, out.height);
      ctx.drawImage(canvas, 0, 0);
      return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode the chart as PNG'))), 'image/png'));
    },
    pointCount() {
      return chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
    },
    destroy() {
      chart.destroy();
    },
  };
}
