/**
 * The page's record of its runs' forecasts: once a run has its evaluation at the planned last
 * step, the forecasts it made at 25% and 50% of its steps (recomputed from its record exactly as
 * the CLI's train --ledger does) are set against that val loss and kept (ledger-store.ts).
 */
import { forecastEntries, ledgerRows, ledgerSummary, type LedgerRow, type LedgerSummary } from '../core/ledger.ts';
import type { RunRecord } from './history.ts';
import { LedgerStore } from './ledger-store.ts';
import { curveOf } from './learning-curve.ts';

export class ForecastLedger {
  rows = $state.raw<LedgerRow[]>([]);
  error = $state<string | null>(null);
  readonly summary = $derived<LedgerSummary[]>(ledgerSummary(this.rows));
  #store: Pick<LedgerStore, 'all' | 'put'>;
  #settled = new WeakSet<RunRecord>();

  constructor(store: Pick<LedgerStore, 'all' | 'put'> = new LedgerStore()) {
    this.#store = store;
  }

  /** Reads what this browser kept. */
  async load() {
    try {
      this.rows = ledgerRows(await this.#store.all());
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  /** Settles a finished run's forecasts, once per record; a run without its final evaluation is left for later. */
  async settle(rec: RunRecord) {
    if (this.#settled.has(rec)) return;
    const final = rec.evals.find((e) => e.step === rec.maxSteps);
    if (!final) return;
    this.#settled.add(rec);
    const entries = forecastEntries(curveOf(rec), {
      key: `forecast ${rec.corpus} ${rec.configKey}`,
      label: `${rec.corpus} · ${rec.label.replace(/^#\d+ /, '')} · ${rec.maxSteps} steps`,
      corpus: rec.corpus,
      actual: final.val,
      time: new Date().toISOString(),
    });
    if (entries.length === 0) return;
    try {
      await this.#store.put(entries);
      this.rows = ledgerRows(await this.#store.all());
    } catch (err) {
      this.error = (err as Error).message;
    }
  }
}
