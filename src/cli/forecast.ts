/**
 * `forecast`: a run's val loss at its planned last step, from its log. `backtest`: the forecast
 * tried on a bank of finished runs, cut at fixed fractions of their steps. `ledger`: predicted vs
 * actual, as kept by train --ledger and fit --predict --ledger.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BACKTEST_CUTS, backtestItems, backtestTable, calibrate, shippedItem } from '../core/backtest.ts';
import { forecastRun, type Forecast } from '../core/forecast.ts';
import { ledgerRows, ledgerSummary, type LedgerEntry } from '../core/ledger.ts';
import { parseRunLog, RunLogError, type RunLog } from '../core/run-log.ts';
import { checkInputFile } from './files.ts';
import { checkWhole, required, UsageError, type ParsedFlags } from './flags.ts';
import { emit } from './output.ts';

/** A log or ledger larger than this is not one `train` wrote for a tab-sized run. */
const MAX_LOG_BYTES = 1e9;

/** The forecast as one JSON line: the val loss at the run's last planned step, its band and curve, or why there is none. */
export function forecastLine(f: Forecast) {
  if (f.kind === 'none') return { type: 'forecast', step: f.step, target: f.target, final: null, reason: f.reason };
  return {
    type: 'forecast',
    step: f.step,
    target: f.target,
    final: f.final,
    band: f.band,
    level: f.level,
    law: f.law,
    curve: f.curve,
  };
}

/** The band's level: the one its misfit part was calibrated at on the bank (MISFIT in forecast.ts). */
const LEVEL = 0.9;

/** A run's log, gzipped or not; bad contents are a UsageError naming the file. */
export function readRunLog(path: string, flag: string): RunLog {
  checkInputFile(path, flag);
  if (statSync(path).size > MAX_LOG_BYTES)
    throw new UsageError(`--${flag} ${path} is over ${MAX_LOG_BYTES / 1e9} GB: not a log train writes`);
  let bytes: Buffer = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new UsageError(`--${flag} ${path}: gzipped, but the gzip data is damaged`);
    }
  }
  try {
    return parseRunLog(bytes.toString('utf8'), path);
  } catch (err) {
    if (err instanceof RunLogError) throw new UsageError(`--${flag} ${err.message}`);
    throw err;
  }
}

export function forecast({ values: v, text }: ParsedFlags<'forecast'>) {
  const path = required(v.run, 'run');
  if (v.upto !== undefined) checkWhole(v.upto, 'upto', 1);
  const log = readRunLog(path, 'run');
  if (v.upto !== undefined && v.upto > log.lastStep) throw new UsageError(`--upto ${text.upto}: the log ends at step ${log.lastStep}`);
  if (v.upto !== undefined && v.upto < log.firstStep)
    throw new UsageError(
      `--upto ${text.upto}: the log starts at step ${log.firstStep} (a resumed run's log holds its steps from there on)`,
    );
  emit(forecastLine(forecastRun(log, { level: LEVEL, ...(v.upto === undefined ? {} : { upto: v.upto }) })));
}

export function backtest({ values: v }: ParsedFlags<'backtest'>) {
  const law = v.law;
  if (law !== 'log' && law !== 'power') throw new UsageError(`--law must be log or power, got ${JSON.stringify(law)}`);
  const dir = v.runs;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--runs ${dir}: not a folder`);
  const files = readdirSync(dir)
    .filter((f) => /\.jsonl(\.gz)?$/.test(f))
    .sort();
  const runs: { name: string; log: RunLog }[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    const log = readRunLog(join(dir, f), 'runs');
    if (log.finalVal === null) skipped.push(f);
    else runs.push({ name: f.replace(/\.jsonl(\.gz)?$/, ''), log });
  }
  if (runs.length === 0)
    throw new UsageError(`--runs ${dir}: no finished run logs (*.jsonl, *.jsonl.gz with an evaluation at the last step)`);
  const items = backtestItems(runs, { level: LEVEL, cuts: BACKTEST_CUTS, tuning: { law } });
  // Each forecast with its band as shipped (its noise and the shipped misfit), or why there is none.
  if (v.items) for (const i of items) emit({ type: 'backtestItem', ...shippedItem(i, LEVEL) });
  for (const row of backtestTable(items, LEVEL)) emit({ type: 'backtest', level: LEVEL, ...row });
  // A cut too few forecasts calibrate is null: no forecast is given from there.
  const misfit = calibrate(items, LEVEL).map(([cut, m]) => [cut, Number.isFinite(m) ? m : null]);
  emit({ type: 'backtestSummary', runs: runs.length, skipped, level: LEVEL, misfit });
}

/** The entries of a ledger file (none when it does not exist yet); a line that is not an entry is an error naming it. */
export function readLedger(path: string, flag: string): LedgerEntry[] {
  if (!existsSync(path)) return [];
  checkInputFile(path, flag);
  if (statSync(path).size > MAX_LOG_BYTES) throw new UsageError(`--${flag} ${path} is over ${MAX_LOG_BYTES / 1e9} GB: not a ledger`);
  const out: LedgerEntry[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        throw new UsageError(`--${flag} ${path}, line ${i + 1}: not JSON (a ledger holds one entry a line)`);
      }
      const r = e as Partial<LedgerEntry> & { type?: unknown };
      const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
      const positiveOrNull = (x: unknown) => x === null || (num(x) && (x as number) > 0);
      const ok =
        r?.type === 'ledger' &&
        (r.kind === 'forecast' || r.kind === 'law') &&
        typeof r.key === 'string' &&
        typeof r.label === 'string' &&
        num(r.predicted) &&
        (r.predicted as number) > 0 &&
        num(r.target) &&
        positiveOrNull(r.actual) &&
        positiveOrNull(r.N ?? null) &&
        (r.band === null || (Array.isArray(r.band) && r.band.length === 2 && r.band.every(num))) &&
        (r.level === null || num(r.level)) &&
        (r.seen === null || num(r.seen)) &&
        (r.corpus === undefined || r.corpus === null || typeof r.corpus === 'string');
      if (!ok) throw new UsageError(`--${flag} ${path}, line ${i + 1}: not a ledger entry`);
      const { type: _, ...entry } = r;
      out.push({ ...entry, corpus: entry.corpus ?? null } as LedgerEntry);
    });
  return out;
}

/** Checks a --ledger path before any work: an existing file must be a ledger, a new one must have a folder to go in. */
export function checkLedgerPath(path: string, flag = 'ledger') {
  if (path === '') throw new UsageError(`--${flag} is empty; give a file path`);
  if (existsSync(path)) readLedger(path, flag);
  else {
    const dir = dirname(path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: the folder ${dir} does not exist`);
  }
}

/** Appends entries to a ledger file, one JSON line each. */
export function appendLedger(path: string, entries: LedgerEntry[]) {
  if (entries.length === 0) return;
  appendFileSync(path, entries.map((e) => JSON.stringify({ type: 'ledger', ...e }) + '\n').join(''));
}

export function ledger({ values: v }: ParsedFlags<'ledger'>) {
  const path = required(v.file, 'file');
  checkInputFile(path, 'file');
  const rows = ledgerRows(readLedger(path, 'file'));
  for (const r of rows) emit({ type: 'ledgerRow', ...r });
  for (const s of ledgerSummary(rows)) emit({ type: 'ledgerSummary', ...s });
}
