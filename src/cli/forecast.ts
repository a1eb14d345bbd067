/**
 * `forecast`: a run's val loss at its planned last step, from its log. `backtest`: the forecast
 * tried on a bank of finished runs, cut at fixed fractions of their steps. `ledger`: predicted vs
 * actual, as kept by train --ledger and fit --predict --ledger.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BACKTEST_CUTS, backtestItems, backtestTable, calibrate } from '../core/backtest.ts';
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

function checkLevel(level: number) {
  if (!(level > 0 && level < 1)) throw new UsageError(`--level must be in (0, 1), got ${level}`);
}

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
  checkLevel(v.level);
  if (v.upto !== undefined) checkWhole(v.upto, 'upto', 1);
  const log = readRunLog(path, 'run');
  if (v.upto !== undefined && v.upto > log.lastStep) throw new UsageError(`--upto ${text.upto}: the log ends at step ${log.lastStep}`);
  emit(forecastLine(forecastRun(log, { level: v.level, ...(v.upto === undefined ? {} : { upto: v.upto }) })));
}

export function backtest({ values: v }: ParsedFlags<'backtest'>) {
  checkLevel(v.level);
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
  const items = backtestItems(runs, { level: v.level, cuts: BACKTEST_CUTS });
  if (v.items)
    for (const i of items)
      emit({
        type: 'backtestItem',
        run: i.run,
        cut: i.cut,
        step: i.step,
        actual: i.actual,
        ...(i.forecast.kind === 'forecast'
          ? { final: i.forecast.final, band: i.forecast.band, error: i.forecast.final / i.actual - 1 }
          : { final: null, reason: i.forecast.reason }),
      });
  for (const row of backtestTable(items, v.level)) emit({ type: 'backtest', level: v.level, ...row });
  emit({ type: 'backtestSummary', runs: runs.length, skipped, level: v.level, misfit: calibrate(items, v.level) });
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
      if (
        r?.type !== 'ledger' ||
        (r.kind !== 'forecast' && r.kind !== 'law') ||
        typeof r.key !== 'string' ||
        typeof r.predicted !== 'number'
      )
        throw new UsageError(`--${flag} ${path}, line ${i + 1}: not a ledger entry`);
      const { type: _, ...entry } = r;
      out.push(entry as LedgerEntry);
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
