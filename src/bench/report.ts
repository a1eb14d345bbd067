/**
 * The benchmark's report: what one run of `npm run bench` (or the bench page) measured, as JSON
 * to save, and as short plain-text tables to read and to compare with an earlier run.
 * Pure TypeScript, shared by the Node runner and the bench page.
 */
import { errorMessage } from '../core/errors.ts';
import type { BenchResult, BenchSkip, VariantMeasure } from './worker/bench.ts';
import type { TrainingMeasure } from './worker/measure.ts';

/** tests/bench/torch_gpt.py's output for one config. */
export interface TorchResult {
  config: string;
  torch: string; // PyTorch's version
  threads: number;
  device?: string; // torch_gpt.py's --device: cpu (absent in older reports) or cuda
  params: number;
  firstStepMs: number;
  msPerStep: number; // median of the timed steps
  meanMsPerStep: number;
  cpuMsPerStep: number; // the process's CPU time per timed step
  tokensPerSec: number;
  sampling: { msPerChar: number | null; chars: number };
}

export interface BenchReport {
  type: 'bench';
  version: 1;
  date: string; // ISO 8601
  runtime: string; // "node 20.20.2" or the browser's user agent
  machine: string; // cores and platform, as far as the runtime tells
  corpus: string;
  results: BenchResult[];
  skipped: BenchSkip[]; // backends that did not start
  torch: { results: TorchResult[] } | { skipped: string };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

/** 1234.5 → "1,235"; small numbers keep a few significant digits. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const abs = Math.abs(x);
  if (abs >= 100 || Number.isInteger(x)) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(digits);
}

/** A signed relative change, "+12%" / "−30%"; "—" without both numbers. */
export function change(before: number | null | undefined, after: number | null | undefined): string {
  if (before === null || before === undefined || after === null || after === undefined || !before || !Number.isFinite(after)) return '—';
  const pct = ((after - before) / before) * 100;
  if (Math.abs(pct) < 0.5) return '±0%';
  return `${pct > 0 ? '+' : '−'}${Math.abs(pct).toFixed(Math.abs(pct) < 10 ? 1 : 0)}%`;
}

/** Columns padded to their widest cell; the first column left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const mb = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '—' : (bytes / 2 ** 20).toFixed(1));

function torchFor(report: BenchReport, config: string): TorchResult | undefined {
  return 'results' in report.torch ? report.torch.results.find((t) => t.config === config) : undefined;
}

/** tabgpt's tokens/s as a multiple of PyTorch's on the same config, or null. */
export function torchRatio(report: BenchReport, r: BenchResult): number | null {
  const t = torchFor(report, r.config);
  return t ? r.training.tokensPerSec / t.tokensPerSec : null;
}

/** The same ratio from CPU time per step (PyTorch's over tabgpt's): less at the mercy of other work on the machine. */
export function torchCpuRatio(report: BenchReport, r: BenchResult): number | null {
  const t = torchFor(report, r.config);
  return t && r.training.cpuMsPerStep ? t.cpuMsPerStep / r.training.cpuMsPerStep : null;
}

/** The main table: one row per config and backend, plus PyTorch's rows. */
export function formatResults(report: BenchReport): string {
  const rows = report.results.map((r) => {
    const s = (kv: boolean) => r.sampling.find((m) => m.kvCache === kv);
    const ratio = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}×`);
    return [
      r.config,
      r.backend,
      fmt(r.training.msPerStep),
      fmt(r.training.cpuMsPerStep),
      fmt(r.training.tokensPerSec),
      ratio(torchRatio(report, r)),
      ratio(torchCpuRatio(report, r)),
      fmt(r.training.firstStepMs),
      fmt(r.training.dispatchesPerStep),
      fmt(r.training.kernelsPerStep),
      mb(r.training.peakBytes),
      fmt(s(false)?.msPerChar),
      s(true) ? `${fmt(s(true)!.msPerChar)} (${fmt(s(true)!.meanMsPerChar)})` : '—',
    ];
  });
  if ('results' in report.torch) {
    for (const t of report.torch.results) {
      rows.push([
        t.config,
        t.device && t.device !== 'cpu' ? `torch ${t.device}` : `torch ${t.threads}t`,
        fmt(t.msPerStep),
        fmt(t.cpuMsPerStep),
        fmt(t.tokensPerSec),
        '1.00×',
        '1.00×',
        fmt(t.firstStepMs),
        '—',
        '—',
        '—',
        fmt(t.sampling.msPerChar),
        '—',
      ]);
    }
  }
  const header = [
    'config',
    'backend',
    'ms/step',
    'CPU ms/step',
    'tokens/s',
    'vs torch',
    'vs torch (CPU)',
    'first step ms',
    'dispatches/step',
    'kernels/step',
    'peak MB',
    'sample ms/char',
    'KV cache ms/char (mean)',
  ];
  return table(header, rows);
}

/** Where a step's kernels and dispatches go. */
export function formatBreakdown(report: BenchReport): string {
  const rows = report.results
    .filter((r) => r.training.breakdown)
    .map((r) => {
      const b = r.training.breakdown!;
      const pair = (c: { kernels: number; dispatches: number | null }) =>
        c.dispatches === null ? `${c.kernels}` : `${c.kernels} / ${c.dispatches}`;
      return [
        r.config,
        r.backend,
        pair(b.forward),
        pair(b.backward),
        pair(b.optimizer),
        pair({ kernels: r.training.kernelsPerStep, dispatches: r.training.dispatchesPerStep }),
      ];
    });
  return table(['config', 'backend', 'forward', 'backward', 'optimizer', 'step (with readback)'], rows);
}

/** Each variant against the model measured the same way: kernels, dispatches and ms per step. */
export function formatVariants(report: BenchReport): string {
  const blocks: string[] = [];
  for (const r of report.results) {
    if (r.variants.length === 0) continue;
    // The baseline is measured first and last; variants are compared with the mean of the two.
    const bases = r.variants
      .filter((v) => v.name === 'baseline' || v.name === 'baselineAgain')
      .flatMap((v) => (v.training ? [v.training] : []));
    const mean = (f: (t: TrainingMeasure) => number | null) => {
      const xs = bases.map(f).filter((x): x is number => x !== null);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    };
    const base = bases.length
      ? {
          kernelsPerStep: bases[0].kernelsPerStep,
          dispatchesPerStep: bases[0].dispatchesPerStep,
          msPerStep: mean((t) => t.msPerStep),
          cpuMsPerStep: mean((t) => t.cpuMsPerStep),
        }
      : null;
    const rows = r.variants.map((v: VariantMeasure) => {
      const t: TrainingMeasure | null = v.training;
      // fusedMatMul is compared with the biases it fuses: that is the choice it makes.
      const ref = v.name === 'fusedMatMul' ? (r.variants.find((w) => w.name === 'bias')?.training ?? base) : base;
      if (!t) return [v.label, fmt(v.params), 'skipped', '', '', '', '', '', '', ''];
      const same = v.name === 'baseline' || v.name === 'baselineAgain';
      return [
        v.label,
        fmt(v.params),
        fmt(t.kernelsPerStep),
        same ? '' : change(ref?.kernelsPerStep, t.kernelsPerStep),
        fmt(t.dispatchesPerStep),
        same ? '' : change(ref?.dispatchesPerStep, t.dispatchesPerStep),
        fmt(t.msPerStep),
        same ? '' : change(ref?.msPerStep, t.msPerStep),
        fmt(t.cpuMsPerStep),
        same ? '' : change(ref?.cpuMsPerStep, t.cpuMsPerStep),
      ];
    });
    const notes = r.variants.filter((v) => v.skipped).map((v) => `  ${v.label}: skipped: ${v.skipped}`);
    blocks.push(
      `${r.config} on ${r.backend} (${r.options.variantWarmup} warm-up + ${r.options.variantSteps} timed steps each):\n` +
        table(['variant', 'params', 'kernels/step', 'Δ', 'dispatches/step', 'Δ', 'ms/step', 'Δ', 'CPU ms/step', 'Δ'], rows) +
        (notes.length ? `\n${notes.join('\n')}` : ''),
    );
  }
  return blocks.join('\n\n');
}

/** Before (an earlier report) and after (this one), matched by config and backend. */
export function formatComparison(before: BenchReport, after: BenchReport): string {
  const rows: string[][] = [];
  for (const a of after.results) {
    const b = before.results.find((r) => r.config === a.config && r.backend === a.backend);
    if (!b) continue;
    const kv = (r: BenchResult) => r.sampling.find((m) => m.kvCache)?.msPerChar;
    rows.push([
      a.config,
      a.backend,
      `${fmt(b.training.msPerStep)} → ${fmt(a.training.msPerStep)}`,
      change(b.training.msPerStep, a.training.msPerStep),
      `${fmt(b.training.dispatchesPerStep)} → ${fmt(a.training.dispatchesPerStep)}`,
      `${fmt(b.training.kernelsPerStep)} → ${fmt(a.training.kernelsPerStep)}`,
      `${fmt(b.training.tokensPerSec)} → ${fmt(a.training.tokensPerSec)}`,
      `${fmt(kv(b))} → ${fmt(kv(a))}`,
    ]);
  }
  if (rows.length === 0) return `nothing to compare: the earlier run (${before.date}) measured no config on a backend this one did`;
  return (
    `against ${before.date} (${before.runtime}):\n` +
    table(['config', 'backend', 'ms/step', 'Δ', 'dispatches/step', 'kernels/step', 'tokens/s', 'KV ms/char'], rows)
  );
}

/** Each profiled result's kernels, slowest first (the first `top` of them). */
export function formatProfiles(report: BenchReport, top = 20): string {
  const blocks: string[] = [];
  for (const r of report.results) {
    const p = r.profile;
    if (!p) continue;
    const head = p.timed
      ? `${r.config} on ${r.backend}: ${fmt(p.msPerStep)} ms/step over ${p.steps} profiled steps, ${fmt(p.kernelMs)} ms in kernels, ${fmt(p.msPerStep - p.kernelMs!)} outside them`
      : `${r.config} on ${r.backend}: kernels run asynchronously here, so they are counted, not timed`;
    const rows = p.rows
      .slice(0, top)
      .map((k) => [k.kernel, k.shapes, k.attrs, fmt(k.calls), fmt(k.ms), p.timed ? `${((100 * k.ms!) / p.msPerStep).toFixed(1)}%` : '—']);
    const rest = p.rows.length > top ? `\n(${p.rows.length - top} more kinds of kernel call)` : '';
    blocks.push(`${head}\n${table(['kernel', 'input shapes', 'transposes', 'calls', 'ms', 'of step'], rows)}${rest}`);
  }
  return blocks.join('\n\n');
}

/** Everything a terminal shows after a run. */
export function formatReport(report: BenchReport, before?: BenchReport): string {
  const parts = [`tabgpt bench, ${report.date}, ${report.runtime}, ${report.machine}, corpus ${report.corpus}`, formatResults(report)];
  const adapters = [...new Set(report.results.map((r) => `${r.backend}: ${r.adapter}`))];
  if (adapters.length) parts.push(adapters.join('; '));
  for (const s of report.skipped) parts.push(`${s.backend} skipped: ${s.reason}`);
  if ('skipped' in report.torch) parts.push(`torch: ${report.torch.skipped}`);
  if (report.results.some((r) => r.training.breakdown)) parts.push('kernels / dispatches per step:\n' + formatBreakdown(report));
  const variants = formatVariants(report);
  if (variants) parts.push(variants);
  const profiles = formatProfiles(report);
  if (profiles) parts.push(profiles);
  if (before) parts.push(formatComparison(before, report));
  return parts.join('\n\n');
}

/** Checks that a parsed file is a report this code can read. */
export function parseReport(text: string, source: string): BenchReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${errorMessage(err)}`, { cause: err });
  }
  const r = value as Partial<BenchReport>;
  if (r?.type !== 'bench' || r.version !== 1 || !Array.isArray(r.results))
    throw new Error(`${source} is not a tabgpt bench report (version 1)`);
  return r as BenchReport;
}
