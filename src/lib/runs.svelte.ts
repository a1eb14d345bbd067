/**
 * The Runs view's state: the rows of every saved run, the ones the user selected, their curves
 * (read from each selected run's checkpoint when it is selected), and what differs between them.
 */
import type { RunCheckpoints } from './run-checkpoints.svelte.ts';
import { configDiff, runFacts, runRow, runsCsv, type RunRow } from './runs-table.ts';
import { stepsOf } from '../../workers/history.ts';
import { errorMessage } from '../core/errors.ts';
import { readLabels, writeLabel } from './run-labels.ts';

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
  /** The names the user gave runs, by key (run-labels.ts); a row without one shows its corpus and shape. */
  labels = $state.raw<Record<string, string>>(readLabels());

  /** Every saved run, newest first. */
  readonly rows: RunRow[];
  readonly selectedRows: RunRow[];
  /** The settings that differ between the selected runs. */
  readonly diff: { setting: string; values: string[] }[];

  private readonly checkpoints: RunCheckpoints;

  constructor(checkpoints: RunCheckpoints) {
    this.checkpoints = checkpoints;
    this.rows = $derived(checkpoints.savedRuns.map((s) => runRow({ ...s, name: this.labels[s.key] ?? s.name }, s.facts)));
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

  /** Names a run (a blank name gives it back its own: corpus and shape). */
  rename(key: string, name: string) {
    try {
      this.labels = writeLabel(key, name);
      this.error = null;
    } catch (err) {
      this.error = `the name could not be kept: ${errorMessage(err)}`;
    }
  }

  /** Deletes a saved run, its name and its selection. */
  async delete(key: string) {
    if (this.selected.includes(key)) await this.toggle(key);
    await this.checkpoints.deleteSaved(key);
    try {
      this.labels = writeLabel(key, null);
    } catch {
      // the name outlives its run, unseen: nothing the user need hear
    }
  }

  /** The table as CSV: every run, selected or not. */
  csv(): string {
    return runsCsv(this.rows);
  }
}
