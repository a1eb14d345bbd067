/**
 * The charts in the page's type: Chart.js draws on a canvas, which CSS does not reach, so its
 * defaults take the page's font stack, size and muted colour from the tokens in app.css.
 */
import { Chart } from 'chart.js';

/** Sets Chart.js's defaults from the page's CSS tokens; a no-op where there is no document (tests in Node). */
export function applyChartTheme() {
  // Typed by hand: this module is also compiled for Node (the tests import the chart modules), which has no DOM types.
  const page = globalThis as {
    document?: { documentElement: object };
    getComputedStyle?: (el: object) => { getPropertyValue(name: string): string };
  };
  if (!page.document || !page.getComputedStyle) return;
  const css = page.getComputedStyle(page.document.documentElement);
  const token = (name: string) => css.getPropertyValue(name).trim();
  const family = token('--font-sans');
  if (family) Chart.defaults.font.family = family;
  Chart.defaults.font.size = 12;
  const muted = token('--color-muted');
  if (muted) Chart.defaults.color = muted;
}
