/**
 * The attention grid's pieces that are not Svelte: one head's matrix out of the flat weights,
 * each head's one-line description and induction mark, the heatmap's colours, and drawing a
 * matrix on a canvas one pixel per cell (scaled up by CSS, without smoothing).
 */
import { describeHead, headLabel, type HeadSummary } from '../core/heads.ts';
import type { Inspection } from '../../workers/protocol.ts';

/** One head of one layer, as the grid shows it. */
export interface HeadView {
  layer: number;
  head: number;
  weights: Float32Array; // [T, T], row q: query q over keys 0..q
  summary: HeadSummary;
  label: string; // "previous char 92% · entropy 0.31"
  induction: number | null; // the latest probe's induction score, if there is one
  isInduction: boolean; // induction ≥ threshold: it looks back one period and copies
}

/** Head `head` of layer `layer` out of maps.weights ([layer][head][query][key]). */
export function headWeights(maps: Inspection['maps'], layer: number, head: number): Float32Array {
  const T = maps.ids.length;
  const at = (layer * maps.nHead + head) * T * T;
  return maps.weights.subarray(at, at + T * T);
}

/** Every head of an inspection, layer by layer, with its description and induction mark. */
export function headViews(maps: Inspection['maps'], induction: number[] | null, threshold: number): HeadView[][] {
  return Array.from({ length: maps.nLayer }, (_, layer) =>
    Array.from({ length: maps.nHead }, (_, head) => {
      const weights = headWeights(maps, layer, head);
      const summary = describeHead(weights, maps.ids);
      const score = induction?.[layer * maps.nHead + head] ?? null;
      return {
        layer,
        head,
        weights,
        summary,
        label: headLabel(summary),
        induction: score,
        isInduction: score !== null && score >= threshold,
      };
    }),
  );
}

/**
 * A weight in [0, 1] as an RGB colour from white to deep blue. The square root spreads the small
 * weights (a row of 64 shares 1.0) so that a head attending evenly is visibly pale, not white.
 */
export function heatColor(w: number): [number, number, number] {
  const t = Math.sqrt(Math.min(1, Math.max(0, w)));
  const lerp = (a: number, b: number) => Math.round(a + (b - a) * t);
  return [lerp(255, 8), lerp(255, 48), lerp(255, 107)];
}

/** Paints a T×T matrix into a T×T canvas, one pixel per cell; cells above the diagonal (zero) stay light grey. */
export function paintMatrix(canvas: HTMLCanvasElement, weights: ArrayLike<number>, T: number) {
  canvas.width = T;
  canvas.height = T;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(T, T);
  for (let q = 0; q < T; q++)
    for (let k = 0; k < T; k++) {
      const [r, g, b] = k > q ? [242, 242, 242] : heatColor(weights[q * T + k]);
      const i = (q * T + k) * 4;
      img.data[i] = r;
      img.data[i + 1] = g;
      img.data[i + 2] = b;
      img.data[i + 3] = 255;
    }
  ctx.putImageData(img, 0, 0);
}
