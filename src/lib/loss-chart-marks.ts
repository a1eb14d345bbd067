/**
 * What the loss chart draws over its curves, straight onto the canvas as Chart.js plugins:
 * horizontal reference lines (entropy floor, n-gram baselines) with their names, and the current
 * run's forecast and loss spikes. Both read the chart's Marks when Chart.js draws, not when made.
 */
import { Chart, type Plugin } from 'chart.js';
import { formatLoss, lossIn, toAxis, type ChartView, type Point } from './chart-series.ts';
import type { ForecastShape } from './learning-curve.ts';
import type { ReferenceLoss } from '../../workers/protocol.ts';

/** What is drawn over the curves: the forecast (dashed, with its band at the right) and spikes (red rings). */
export interface Overlay {
  forecast: ForecastShape | null;
  spikes: Point[];
}

export const noOverlay: Overlay = { forecast: null, spikes: [] };

/** The chart's state besides its datasets, shared by these plugins and the axes' callbacks. */
export interface Marks {
  view: ChartView | null; // the view the datasets were last built for
  references: readonly ReferenceLoss[];
  overlay: Overlay;
}

/** A reference loss's y coordinate on the axis of `v`, or null where the axis cannot show it. */
export function referenceCoord(r: ReferenceLoss, v: ChartView): number | null {
  return toAxis(lossIn(r.nats, v.y), v.logY);
}

/** The chart's own labels in the page's font (chart-theme.ts sets it on Chart.js's defaults). */
function labelFont(): string {
  return `11px ${Chart.defaults.font.family ?? 'sans-serif'}`;
}

/** A reference line as drawn: its pixel row, its label and the box the label's backdrop takes. */
interface PlacedReference {
  y: number;
  kind: ReferenceLoss['kind'];
  text: string;
  box: Box;
}

/** A rectangle in canvas pixels. */
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Where the reference lines and their labels go: labels at the right end, on a backdrop just
 * above their line; one that would overprint a label on that side goes left. `ctx` must have the
 * label font set. Shared by the lines and the forecast's label, which keeps clear of them.
 */
function placeReferences(c: Chart<'line'>, marks: Marks): PlacedReference[] {
  const { view, references } = marks;
  if (!view) return [];
  const { ctx, chartArea: area, scales } = c;
  const placed: PlacedReference[] = [];
  for (const r of references) {
    const coord = referenceCoord(r, view);
    if (coord === null) continue;
    const y = scales.y.getPixelForValue(coord);
    if (y < area.top || y > area.bottom) continue;
    const text = `${r.label} ${formatLoss(lossIn(r.nats, view.y))}`;
    const w = ctx.measureText(text).width + 4;
    const right = !placed.some((p) => p.box.x > area.left + 4 && Math.abs(p.y - y) < 14);
    placed.push({ y, kind: r.kind, text, box: { x: right ? area.right - 2 - w : area.left + 2, y: y - 15, w, h: 13 } });
  }
  return placed;
}

/** Dashed lines across the plot with their names: the floor no model can beat is dotted. */
export function referenceLines(marks: Marks): Plugin<'line'> {
  return {
    id: 'referenceLines',
    afterDatasetsDraw(c) {
      const { ctx, chartArea: area } = c;
      ctx.save();
      ctx.font = labelFont();
      const placed = placeReferences(c, marks);
      const colorOf = (p: PlacedReference) => (p.kind === 'floor' ? '#1b7a3a' : '#6e7781');
      for (const p of placed) {
        ctx.strokeStyle = colorOf(p);
        ctx.setLineDash(p.kind === 'floor' ? [2, 3] : [6, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, p.y);
        ctx.lineTo(area.right, p.y);
        ctx.stroke();
      }
      // Labels after every line, each on a backdrop above its own line, so no line strikes through a label.
      ctx.setLineDash([]);
      for (const p of placed) {
        ctx.fillStyle = 'rgb(255 255 255 / 85%)';
        ctx.fillRect(p.box.x, p.box.y, p.box.w, p.box.h);
        ctx.fillStyle = colorOf(p);
        ctx.textAlign = 'left';
        ctx.fillText(p.text, p.box.x + 2, p.y - 5);
      }
      ctx.restore();
    },
  };
}

/**
 * The forecast and the spikes. They are drawn here rather than as datasets: they are redrawn
 * whole when refitted, stay out of the legend and the tooltip, and are not decimated.
 */
export function overlayMarks(marks: Marks): Plugin<'line'> {
  return {
    id: 'overlayMarks',
    afterDatasetsDraw(c) {
      const { ctx, chartArea: area } = c;
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      const f = marks.overlay.forecast;
      if (f) {
        ctx.font = labelFont();
        drawForecast(
          c,
          f,
          placeReferences(c, marks).map((p) => p.box),
        );
      }
      drawSpikes(c, marks.overlay.spikes);
      ctx.restore();
    },
  };
}

/** Pixel coordinates of a point in axis coordinates. */
function pixels(c: Chart<'line'>): { px: (x: number) => number; py: (y: number) => number } {
  return { px: (x) => c.scales.x.getPixelForValue(x), py: (y) => c.scales.y.getPixelForValue(y) };
}

function drawForecast(c: Chart<'line'>, f: ForecastShape, taken: readonly Box[]) {
  const { ctx } = c;
  const { px, py } = pixels(c);
  ctx.strokeStyle = ctx.fillStyle = '#2f5fa8';
  ctx.lineWidth = 2;
  ctx.setLineDash([8, 5]); // longer dashes than the reference lines', which it may run along
  ctx.beginPath();
  f.curve.forEach((p, i) => (i ? ctx.lineTo(px(p.x), py(p.y)) : ctx.moveTo(px(p.x), py(p.y))));
  ctx.stroke();
  if (f.band) drawBand(c, f.band, taken);
}

/** The band as a bar at maxSteps: it bounds the final loss, not the path there. */
function drawBand(c: Chart<'line'>, band: NonNullable<ForecastShape['band']>, taken: readonly Box[]) {
  const { ctx, chartArea: area } = c;
  const { px, py } = pixels(c);
  const x = Math.min(px(band.x), area.right - 4);
  const top = py(band.hi);
  const bottom = py(band.lo);
  ctx.setLineDash([]);
  ctx.font = labelFont();
  // The label goes below the band, else above it, else beside it: wherever no reference label is.
  const w = ctx.measureText('forecast').width + 4;
  const spots: Box[] = [
    { x: x - 9 - w, y: bottom + 1, w, h: 13 },
    { x: x - 9 - w, y: top - 15, w, h: 13 },
    { x: x - 9 - w, y: (top + bottom) / 2 - 7, w, h: 13 },
  ];
  const spot = spots.find((b) => !taken.some((t) => overlaps(b, t))) ?? spots[0];
  ctx.fillStyle = 'rgb(255 255 255 / 85%)';
  ctx.fillRect(spot.x, spot.y, spot.w, spot.h);
  ctx.fillStyle = '#2f5fa8';
  ctx.textAlign = 'left';
  ctx.fillText('forecast', spot.x + 2, spot.y + 10);
  ctx.fillStyle = '#2f5fa833';
  ctx.fillRect(x - 4, top - 1, 8, bottom - top + 2);
  ctx.lineWidth = 1.5;
  ctx.strokeRect(x - 4, top - 1, 8, bottom - top + 2);
}

function drawSpikes(c: Chart<'line'>, spikes: readonly Point[]) {
  const { ctx } = c;
  const { px, py } = pixels(c);
  ctx.setLineDash([]);
  ctx.strokeStyle = '#d62728';
  ctx.lineWidth = 2;
  for (const p of spikes) {
    ctx.beginPath();
    ctx.arc(px(p.x), py(p.y), 5, 0, 2 * Math.PI);
    ctx.stroke();
  }
}
