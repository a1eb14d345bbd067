/**
 * Predicted vs actual, kept: every forecast made at 25% and 50% of a run, and every prediction of
 * a fitted law, with its outcome once the run that settles it has ended. The app keeps its ledger
 * in IndexedDB, the CLI in a JSON Lines file (--ledger); both read it back as the same table, the
 * project's own record of how predictable training is.
 */
import { quantile, type Interval } from './fit.ts';
import { forecastRun, type RunCurve } from './forecast.ts';

export interface LedgerEntry {
  kind: 'forecast' | 'law'; // a run's forecast of its own val loss, or a fitted law's prediction
  key: string; // what is predicted: the same key is the same prediction (the latest entry wins)
  label: string; // for the table: the run, or the model and tokens
  seen: number | null; // forecast: the last step it saw; law: null
  target: number; // forecast: the step forecast; law: the training tokens D
  N: number | null; // law: non-embedding parameters
  corpus: string | null; // what the prediction is about: a run's corpus; a law's, when its points say (a sweep's log)
  predicted: number; // val loss, nats/char
  band: Interval | null;
  level: number | null; // the band's coverage
  actual: number | null; // the val loss reached, once known
  time: string; // ISO time the entry was written
}

export interface LedgerRow extends LedgerEntry {
  error: number | null; // predicted/actual − 1
  inBand: boolean | null;
}

/** The latest entry of each key, in the order keys first appeared, with its error and whether its band held the outcome. */
export function ledgerRows(entries: readonly LedgerEntry[]): LedgerRow[] {
  const latest = new Map<string, LedgerEntry>();
  for (const e of entries) {
    latest.delete(e.key); // re-inserted: a later entry moves to the end
    latest.set(e.key, e);
  }
  return [...latest.values()].map((e) => ({
    ...e,
    error: e.actual === null ? null : e.predicted / e.actual - 1,
    inBand: e.actual === null || e.band === null ? null : e.band[0] <= e.actual && e.actual <= e.band[1],
  }));
}

export interface LedgerSummary {
  kind: LedgerEntry['kind'];
  cut: number | null; // forecasts: the fraction of the run seen, to 2 places; laws: null
  settled: number; // entries with an outcome
  open: number; // entries still waiting for one
  medianAbsError: number | null;
  coverage: number | null; // share of settled entries with a band whose band held
}

/** The ledger's summary per kind (and per fraction of the run seen, for forecasts). */
export function ledgerSummary(rows: readonly LedgerRow[]): LedgerSummary[] {
  const groups = new Map<string, LedgerRow[]>();
  for (const r of rows) {
    const cut = r.kind === 'forecast' && r.seen !== null ? Math.round((100 * r.seen) / r.target) / 100 : null;
    const k = `${r.kind}|${cut}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.entries()].map(([k, rs]) => {
    const [kind, cut] = k.split('|');
    const settled = rs.filter((r) => r.error !== null);
    const banded = settled.filter((r) => r.inBand !== null);
    return {
      kind: kind as LedgerEntry['kind'],
      cut: cut === 'null' ? null : Number(cut),
      settled: settled.length,
      open: rs.length - settled.length,
      medianAbsError: settled.length ? quantile(Float64Array.from(settled, (r) => Math.abs(r.error!)).sort(), 0.5) : null,
      coverage: banded.length ? banded.filter((r) => r.inBand).length / banded.length : null,
    };
  });
}

/** A law's prediction key: what corpus, model and budget it was for. */
export function lawKey(N: number, D: number, corpus: string | null): string {
  return `law ${corpus ?? '?'} N=${N} D=${D}`;
}

/**
 * Whether a trained run settles a law's open prediction: the same corpus, the same non-embedding N,
 * and D within 1% (a run's tokens are whole steps of batch × context, so a budget is met only to a
 * step). A prediction already settled, or one whose corpus is unknown (points from a CSV), is not.
 */
export function settlesLaw(
  entry: Pick<LedgerRow, 'kind' | 'N' | 'target' | 'corpus' | 'actual'>,
  run: { corpus: string; N: number; D: number },
): boolean {
  return (
    entry.kind === 'law' &&
    entry.actual === null &&
    entry.corpus !== null &&
    entry.corpus === run.corpus &&
    entry.N === run.N &&
    Math.abs(run.D / entry.target - 1) <= 0.01
  );
}

/** The fractions of a run whose forecasts are kept and set against its outcome. */
export const LEDGER_CUTS = [0.25, 0.5] as const;

/**
 * A finished run's ledger entries: its forecasts from what it had seen at each of LEDGER_CUTS of its
 * planned steps (where a forecast was made; a reason instead of a number predicts nothing), set
 * against `actual`, its val loss at the last step. `key` names the run, the same for a run loaded again.
 */
export function forecastEntries(
  run: RunCurve,
  { key, label, corpus, actual, time }: { key: string; label: string; corpus: string; actual: number; time: string },
): LedgerEntry[] {
  const target = run.schedule.maxSteps;
  const lastSeen = Math.max(run.steps.at(-1)?.step ?? 0, 0);
  const out: LedgerEntry[] = [];
  for (const cut of LEDGER_CUTS) {
    const upto = Math.round(cut * target);
    if (upto > lastSeen) continue;
    const f = forecastRun(run, { upto });
    if (f.kind !== 'forecast') continue;
    out.push({
      kind: 'forecast',
      key: `${key} @${cut}`,
      label,
      seen: f.step,
      target,
      N: null,
      corpus,
      predicted: f.final,
      band: f.band,
      level: f.level,
      actual,
      time,
    });
  }
  return out;
}
