/**
 * The Scaling lab's pure parts and its chart: ladders as text, the series of the log–log plot
 * (published laws converted to nats per character, the user's fit, measured points), and the
 * exports. The chart itself is Chart.js on two logarithmic axes, created once per canvas.
 */
import {
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { applyChartTheme } from './chart-theme.ts';
import {
  chinchilla,
  chinchillaLoss,
  computeOptimal,
  kaplan,
  kaplanLossC,
  kaplanLossD,
  kaplanLossN,
  meaningfulPrediction,
  perCharacter,
  type ChinchillaLaw,
} from '../core/scaling.ts';
import type { FittedLaw, SweepPoint } from '../../workers/protocol.ts';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);
applyChartTheme();

// ---------------------------------------------------------------------------------------------
// Units and series

export type Axis = 'N' | 'D' | 'C';

/** A published law's loss (nats per BPE token) per character, or null where it means nothing (≥ ln V). */
export function publishedPerChar(lossPerToken: number, charsPerToken: number, vocabSize: number): number | null {
  return meaningfulPrediction(perCharacter(lossPerToken, charsPerToken), vocabSize);
}

/** n points evenly spaced in log between lo and hi. */
export function logSpace(lo: number, hi: number, n: number): number[] {
  const a = Math.log(lo);
  const b = Math.log(hi);
  return Array.from({ length: n }, (_, i) => Math.exp(a + ((b - a) * i) / (n - 1)));
}

/** Compute of a measurement on the C axis: 6·N·D, the convention the compute-optimal frontier uses too. */
export const computeOf = (p: { N: number; D: number }) => 6 * p.N * p.D;

export interface XY {
  x: number;
  y: number | null; // null: a gap (the law predicts nothing meaningful there)
}

export interface Curve {
  label: string;
  kind: 'kaplan' | 'chinchilla' | 'fit';
  points: XY[];
}

export interface Measured {
  label: string;
  kind: 'sweep' | 'run' | 'verify';
  points: { x: number; y: number }[];
  model?: number; // a sweep's: which model of the ladder (its colour)
}

export interface SeriesInput {
  axis: Axis;
  charsPerToken: number;
  vocabSize: number;
  refD: number; // D at which the loss-vs-N curves of L(N, D) are drawn
  refN: number; // N at which the loss-vs-D curves are drawn
  fit: ChinchillaLaw | null; // nats per character already: fitted to character losses
  sweep: { N: number; D: number; loss: number; model?: number }[];
  run: { N: number; D: number; loss: number } | null;
  verified: { N: number; D: number; loss: number }[];
  samples?: number;
}

/** x of a measurement on an axis. */
export function xOf(axis: Axis, p: { N: number; D: number }): number {
  return axis === 'N' ? p.N : axis === 'D' ? p.D : computeOf(p);
}

/** The x range shown: the measurements' span widened a decade each way, or a default span. */
export function xRange(axis: Axis, xs: number[]): [number, number] {
  const defaults: Record<Axis, [number, number]> = { N: [1e3, 1e8], D: [1e4, 1e9], C: [1e9, 1e17] };
  const ok = xs.filter((x) => Number.isFinite(x) && x > 0);
  if (ok.length === 0) return defaults[axis];
  return [Math.min(...ok) / 10, Math.max(...ok) * 10];
}

/** Every curve and measured set of the log–log plot on one axis. */
export function buildSeries(inp: SeriesInput): { curves: Curve[]; measured: Measured[]; range: [number, number] } {
  const { axis, charsPerToken: cpt, vocabSize: V, refD, refN, fit } = inp;
  // One set per model of the ladder, in its own colour, its points joined in order along x.
  const models = [...new Set(inp.sweep.map((p) => p.model ?? 0))].sort((a, b) => a - b);
  const sweeps: Measured[] = models.map((model) => {
    const own = inp.sweep.filter((p) => (p.model ?? 0) === model);
    const points = own.map((p) => ({ x: xOf(axis, p), y: p.loss })).sort((a, b) => a.x - b.x);
    return { label: `sweep model ${model + 1} (N ${formatCount(own[0].N)})`, kind: 'sweep', points, model };
  });
  const measured: Measured[] = [
    ...(sweeps.length ? sweeps : [{ label: 'sweep points', kind: 'sweep' as const, points: [] }]),
    { label: 'current run (latest val)', kind: 'run', points: inp.run ? [{ x: xOf(axis, inp.run), y: inp.run.loss }] : [] },
    { label: 'verified predictions', kind: 'verify', points: inp.verified.map((p) => ({ x: xOf(axis, p), y: p.loss })) },
  ];
  const range = xRange(
    axis,
    measured.flatMap((m) => m.points.map((p) => p.x)),
  );
  const xs = logSpace(range[0], range[1], inp.samples ?? 60);
  const pub = (f: (x: number) => number) => xs.map((x) => ({ x, y: publishedPerChar(f(x), cpt, V) }));
  const own = (f: (x: number) => number) => xs.map((x) => ({ x, y: positive(f(x)) }));
  const curves: Curve[] = [];
  if (axis === 'N') {
    curves.push({ label: 'Kaplan L(N)', kind: 'kaplan', points: pub(kaplanLossN) });
    curves.push({
      label: `Chinchilla L(N, D=${formatCount(refD)})`,
      kind: 'chinchilla',
      points: pub((N) => chinchillaLoss(chinchilla, N, refD)),
    });
    if (fit) curves.push({ label: `your fit L(N, D=${formatCount(refD)})`, kind: 'fit', points: own((N) => chinchillaLoss(fit, N, refD)) });
  } else if (axis === 'D') {
    curves.push({ label: 'Kaplan L(D)', kind: 'kaplan', points: pub(kaplanLossD) });
    curves.push({
      label: `Chinchilla L(N=${formatCount(refN)}, D)`,
      kind: 'chinchilla',
      points: pub((D) => chinchillaLoss(chinchilla, refN, D)),
    });
    if (fit) curves.push({ label: `your fit L(N=${formatCount(refN)}, D)`, kind: 'fit', points: own((D) => chinchillaLoss(fit, refN, D)) });
  } else {
    curves.push({ label: 'Kaplan L(C_min)', kind: 'kaplan', points: pub(kaplanLossC) });
    curves.push({ label: 'Chinchilla compute-optimal', kind: 'chinchilla', points: pub((C) => computeOptimal(chinchilla, C).loss) });
    if (fit) curves.push({ label: 'your fit, compute-optimal', kind: 'fit', points: own((C) => safeOptimal(fit, C)) });
  }
  // A law that is meaningless over the whole range draws nothing: its legend entry says why.
  for (const c of curves) if (c.points.every((p) => p.y === null)) c.label += ' (≥ ln V here: not drawn)';
  return { curves, measured, range };
}

function positive(y: number): number | null {
  return Number.isFinite(y) && y > 0 ? y : null;
}

/** A fitted law's compute-optimal loss, NaN where the fit cannot allocate (an exponent ≤ 0). */
function safeOptimal(law: ChinchillaLaw, C: number): number {
  try {
    return computeOptimal(law, C).loss;
  } catch {
    return NaN;
  }
}

/** 1234567 → "1.23M"; counts of parameters, tokens and FLOPs. */
export function formatCount(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const units: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `${+(x / v).toPrecision(3)}${u}`;
  return `${+x.toPrecision(3)}`;
}

/** Relative error of a prediction, in percent of the actual loss; null until it is trained. */
export function errorPercent(p: { predicted: number; actual: number | null }): number | null {
  return p.actual === null ? null : (100 * (p.predicted - p.actual)) / p.actual;
}

// ---------------------------------------------------------------------------------------------
// Exports

/** A fit as exported: which points it used, the law and its intervals. */
export interface ExportedFit {
  label: string;
  points: number;
  fitted: FittedLaw;
}

const FIELDS = ['model', 'N', 'params', 'D', 'step', 'loss'] as const;

/** The sweep's points as CSV (the CLI's `fit --points` reads the N, D and loss columns), with the probe's score and chance (blank where unmeasured). */
export function pointsCsv(points: SweepPoint[]): string {
  const row = (p: SweepPoint) =>
    [
      ...FIELDS.map((k) => String(p[k])),
      p.probe?.score ?? '',
      p.probe?.chance ?? '',
      p.task?.exactMatch ?? '',
      p.task?.charAccuracy ?? '',
      p.task?.answerNats ?? '',
    ].join(',');
  const header = [...FIELDS, 'probe_score', 'probe_chance', 'task_exact_match', 'task_char_accuracy', 'task_answer_nats'];
  return [header.join(','), ...points.map(row)].join('\n') + '\n';
}

const LAW_KEYS = ['E', 'A', 'B', 'alpha', 'beta'] as const;

/** One row per fit: each parameter with its 95% interval. */
export function fitsCsv(fits: ExportedFit[]): string {
  const header = ['label', 'points', ...LAW_KEYS.flatMap((k) => [k, `${k}_lo`, `${k}_hi`])];
  const rows = fits.map((f) => [
    csvText(f.label),
    String(f.points),
    ...LAW_KEYS.flatMap((k) => [f.fitted.law[k], ...f.fitted.intervals[k]].map(String)),
  ]);
  return [header, ...rows].map((r) => r.join(',')).join('\n') + '\n';
}

/** Quotes a text field when it holds a comma, a quote or a line break. */
function csvText(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Everything the lab measured and fitted, with the published laws it was compared with. */
export function labJson(data: { corpus: string | null; points: SweepPoint[]; fits: ExportedFit[]; predictions: unknown[] }): string {
  return JSON.stringify(
    {
      corpus: data.corpus,
      units: 'loss in nats per character; N non-embedding parameters; D characters (tokens) trained on',
      points: data.points,
      fits: data.fits.map((f) => ({ label: f.label, points: f.points, ...f.fitted })),
      predictions: data.predictions,
      published: { kaplan, chinchilla },
    },
    null,
    2,
  );
}

// ---------------------------------------------------------------------------------------------
// The chart

const COLORS: Record<Curve['kind'] | Measured['kind'], string> = {
  kaplan: '#8a6d00',
  chinchilla: '#2b5797',
  fit: '#c0392b',
  sweep: '#222',
  run: '#1e8449',
  verify: '#8e44ad',
};

/** A sweep's models, one colour each (ColorBrewer's Dark2: apart from the laws' colours and from each other). */
export const MODEL_COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];

const AXIS_TITLES: Record<Axis, string> = {
  N: 'N: non-embedding parameters',
  D: 'D: tokens (characters) trained on',
  C: 'C = 6·N·D: training FLOPs',
};

/** Labels only powers of ten: the x axis spans many decades, and Chart.js's 2–9 ticks would collide. */
function decadeTick(value: number | string): string {
  const v = Number(value);
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9 ? formatCount(v) : '';
}

export interface ScalingChart {
  draw(series: ReturnType<typeof buildSeries>, axis: Axis): void;
  pointCount(): number;
  destroy(): void;
}

/** A log–log chart of curves (lines, gaps where null) and measurements (dots). */
export function createScalingChart(canvas: HTMLCanvasElement): ScalingChart {
  let count = 0;
  const chart = new Chart<'line', XY[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      spanGaps: false, // a null is a range where the law means nothing: leave it blank
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, text: AXIS_TITLES.N },
          ticks: { callback: decadeTick, autoSkip: false, maxRotation: 0 },
        },
        y: { type: 'logarithmic', title: { display: true, text: 'loss (nats per character)' } },
      },
      // Legend swatches drawn as the marker or line they stand for.
      plugins: { legend: { position: 'bottom', labels: { usePointStyle: true } }, tooltip: { mode: 'nearest', intersect: false } },
    },
  });
  return {
    draw({ curves, measured, range }, axis) {
      const datasets: ChartDataset<'line', XY[]>[] = [
        ...curves.map((c) => ({
          label: c.label,
          data: c.points,
          borderColor: COLORS[c.kind],
          backgroundColor: COLORS[c.kind],
          pointRadius: 0,
          borderWidth: 2,
          borderDash: c.kind === 'fit' ? [] : [6, 4],
        })),
        ...measured
          .filter((m) => m.points.length > 0)
          .map((m) => {
            const color = m.model !== undefined ? MODEL_COLORS[m.model % MODEL_COLORS.length] : COLORS[m.kind];
            return {
              label: m.label,
              data: m.points,
              borderColor: color,
              backgroundColor: color,
              showLine: m.kind === 'sweep', // a model's points are one learning curve
              borderWidth: 1.5,
              pointRadius: m.kind === 'sweep' ? 3 : 5,
              pointStyle: m.kind === 'run' ? ('rectRot' as const) : ('circle' as const),
            };
          }),
      ];
      chart.data.datasets = datasets;
      const x = chart.options.scales!.x as { min?: number; max?: number; title: { text: string } };
      x.min = range[0];
      x.max = range[1];
      x.title.text = AXIS_TITLES[axis];
      count = datasets.reduce((n, d) => n + d.data.filter((p) => p.y !== null).length, 0);
      chart.update();
    },
    pointCount: () => count,
    destroy: () => chart.destroy(),
  };
}
