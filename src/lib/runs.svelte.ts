/**
 * The Runs view's state: the rows of every saved run, the ones the user selected, their curves
 * (read from each selected run's checkpoint when it is selected), and what differs between them.
 */
import type { RunCheckpoints } from './run-checkpoints.svelte.ts';
import { configDiff, runFacts, runRow, runsCsv, type RunRow } from './runs-table.ts';
import { stepsOf } from '../../workers/history.ts';
import { errorMessage } from '../core/errors.ts';

/** A selected run's validation curve: its evaluations, and its minibatch losses where kept. */
export interface RunCurve {
  key: string;
  name: string;
  evals: { step: number; val: number }[];
  losses: { step: number; loss: number }[];
}

export class RunsTable {
  selected = $state<string[]>([]);
  curves = $state.raw<RunCurve[]>([]);
  error = $state<string | null>(null);

  /** Every saved run, newest first. */
  readonly rows: RunRow[];
  readonly selectedRows: RunRow[];
  /** The settings that differ between the selected runs. */
  readonly diff: { setting: string; values: string[] }[];

  private readonly checkpoints: RunCheckpoints;

  constructor(checkpoints: RunCheckpoints) {
    this.checkpoints = checkpoints;
    this.rows = $derived(checkpoints.savedRuns.map((s) => runRow(s, s.facts)));
    this.selectedRows = $derived(this.rows.filter((r) => this.selected.includes(r.key)));
    this.diff = $derived(configDiff(this.selectedRows));
  }

  /** Selects or unselects a run; a selected run's curve is read from its checkpoint. */
  async toggle(key: string) {
    if (this.selected.includes(key)) {
      this.selected = this.selected.filter((k) => k !== key);
      this.curves = this.curves.filter((c) => c.key !== key);
      return;
    }
    this.selected = [...this.selected, key];
    try {
      const saved = await this.checkpoints.store.get(key);
      if (!saved || !this.selected.includes(key)) return;
      const history = runFacts(saved.bytes).history;
      const steps = history ? stepsOf(history) : [];
      const curve: RunCurve = {
        key,
        name: saved.name,
        evals: (history?.evals ?? []).map((e) => ({ step: e.step, val: e.val })),
        losses: (history?.losses ?? []).map((loss, i) => ({ step: steps[i], loss })),
      };
      this.curves = [...this.curves.filter((c) => c.key !== key), curve];
      this.error = null;
    } catch (err) {
      this.error = `its curve could not be read: ${errorMessage(err)}`;
    }
  }

  /** The table as CSV: every run, selected or not. */
  csv(): string {
    return runsCsv(this.rows);
  }
}
