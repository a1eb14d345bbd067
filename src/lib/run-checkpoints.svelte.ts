/**
 * A run's checkpoints on the page: autosaves into the browser's IndexedDB (run-store.ts) under
 * one key per run, where a failed save is a message and never a stop, and the latest few kept in
 * memory whatever the store did with them: they are where a faulted run restarts from and where a
 * rollback after a loss spike returns to.
 */
import { errorMessage } from '../core/errors.ts';
import type { CorpusMessage, RunInfo } from '../../workers/protocol.ts';
import type { CorpusSource } from './corpus.svelte.ts';
import type { RunRecord } from './history.ts';
import type { Status } from './run-view.ts';
import { SpikeWatch, type SpikeMark } from './learning-curve.ts';
import { RunStore, type SavedRunSummary, type StoredCorpus } from './run-store.ts';
import { runExtras } from './runs-table.ts';

/** A checkpoint as the worker answered it. */
export interface SavedCheckpoint {
  bytes: Uint8Array;
  step: number;
  valLoss: number | null; // the latest eval's
  valStep: number | null; // the step of that eval (an autosave comes between evals)
  ms: number; // the worker's time to make it (training waits that long)
}

/** A checkpoint kept in memory; `pinned` ones stay until the run ends (a loss spike's "before"). */
export interface KeptCheckpoint {
  step: number;
  bytes: Uint8Array;
  pinned?: boolean;
}

/** Where a run saves, and what loading one of its checkpoints again takes. */
export interface StoreEntry {
  key: string; // its entry in the store
  corpus: StoredCorpus; // what the store keeps of its corpus
  stored?: boolean; // the entry already holds the loaded step (a saved run resumed from the list)
  message: CorpusMessage; // its corpus, for a rollback's or a restart's load
  source: CorpusSource;
}

/** What an autosave needs of the run: the checkpoint itself comes from the worker. */
export interface Saveable {
  /** The run to save, or null when there is none worth saving (idle, failed). */
  current(): { info: RunInfo; step: number; backend: string | null } | null;
  save(): Promise<SavedCheckpoint>;
  /** A checkpoint past the last restart point arrived: the run is healthy again. */
  recovered(): void;
}

/** "moby-dick · 2×64 · ctx 64": how a saved run is listed. */
export function runName(info: RunInfo): string {
  return `${info.corpus} · ${info.nLayer}×${info.nEmbd} · ctx ${info.blockSize}`;
}

/** A store key for a new run: unique enough within one browser. */
export function newKey(): string {
  return `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What the store keeps of a corpus: a file's text (nothing else can bring it back), a name otherwise. */
export function storedCorpus(corpus: CorpusMessage, source: CorpusSource): StoredCorpus {
  return source === 'file' ? { name: corpus.name, source, text: corpus.text } : { name: corpus.name, source };
}

/** A start or load the worker has not answered yet: what its answer needs. */
export interface Opening {
  id: number;
  before: Status; // where a refusal returns the page to
  entry: StoreEntry; // where the run's checkpoints are stored once it exists
  continuing: KeptCheckpoint[] | null; // a restart's: its 'run' continues the current record and keeps these checkpoints
}

export class RunCheckpoints {
  /** Autosave every this many steps (0: only on pause and at the end). */
  autosaveEvery = $state(200);
  /** The current run's last autosave. */
  lastAutosave = $state<{ step: number; date: number } | null>(null);
  /** Why the last autosave, or a listing of saved runs, failed; training goes on regardless. */
  storeError = $state<string | null>(null);
  /** Runs kept in this browser, newest first. */
  savedRuns = $state.raw<SavedRunSummary[]>([]);
  /** Bytes this origin stores and may store; null where the browser cannot say. */
  storage = $state<{ usage: number; quota: number } | null>(null);
  /** Steps of the checkpoints a rollback can return to, oldest first. */
  rollbackSteps = $state.raw<number[]>([]);
  /** Loss spikes of the current run, found step by step (watchSpikes); the checkpoint before each is kept for a rollback. */
  spikes = $state.raw<SpikeMark[]>([]);
  readonly #spikeWatch = new SpikeWatch();
  /** The step a restart would resume at (the latest checkpoint kept), or null to start over. */
  restartStep = $state<number | null>(null);
  readonly store = new RunStore();

  /** The store entry of the current run. */
  entry: StoreEntry | null = null;
  // The store keeps only a run's latest, which after a loss spike is soon from after it, and a
  // rollback wants one from before: the latest two are kept, and any pinned.
  #kept: KeptCheckpoint[] = [];
  #saving = false;
  #again = false; // a request came while one was in flight: run once more after it
  // The latest checkpoint of the run, fetched whenever it is cheap (shadow()): what a page that is
  // being left writes at once, since by then no answer from the worker would arrive in time.
  #shadow: (SavedCheckpoint & { key: string; info: RunInfo; backend: string | null }) | null = null;
  #shadowing = false;
  #shadowCost = { ms: 0, at: 0 }; // how long the worker took over the last one, and when it came

  constructor(private readonly run: Saveable) {}

  /** Reads the saved runs and the storage estimate again. */
  async refreshSaved() {
    try {
      this.savedRuns = await this.store.list();
      this.storage = await this.store.estimate();
    } catch (err) {
      this.storeError = errorMessage(err);
    }
  }

  /**
   * The key of the saved run whose checkpoint is these very bytes (a downloaded file loaded back),
   * so resuming it continues that entry instead of listing the same run twice; undefined if none.
   */
  async findSaved(bytes: Uint8Array): Promise<string | undefined> {
    for (const summary of this.savedRuns) {
      if (summary.size !== bytes.length) continue;
      const saved = await this.store.get(summary.key).catch(() => undefined);
      if (saved && sameBytes(saved.bytes, bytes)) return summary.key;
    }
    return undefined;
  }

  /** Deletes a saved run; the current run, even if it is that one, trains on (and saves again later). */
  async deleteSaved(key: string) {
    try {
      await this.store.delete(key);
      if (this.entry?.key === key) this.lastAutosave = null;
    } catch (err) {
      this.storeError = errorMessage(err);
    }
    await this.refreshSaved();
  }

  /** Saves the current run into the store, unless its step is saved already. Never throws. */
  async autosave() {
    if (this.#saving) {
      this.#again = true;
      return;
    }
    this.#saving = true;
    try {
      do {
        this.#again = false;
        const entry = this.entry;
        const current = this.run.current();
        if (!entry || !current) return;
        if (this.lastAutosave?.step === current.step) continue;
        const { bytes, step, valLoss, valStep } = await this.run.save();
        if (this.entry !== entry) return; // another run took over while the worker saved
        // Kept in memory first: a full store must not cost the run its restart point.
        this.keep(step, bytes);
        const date = Date.now();
        const extras = runExtras(current.info, current.backend);
        await this.store.put({
          key: entry.key,
          name: runName(current.info),
          date,
          step,
          valLoss,
          valStep,
          bytes,
          corpus: entry.corpus,
          ...extras,
        });
        this.lastAutosave = { step, date };
        this.storeError = null;
        await this.refreshSaved();
      } while (this.#again);
    } catch (err) {
      this.storeError = errorMessage(err);
    } finally {
      this.#saving = false;
    }
  }

  /** The step of the checkpoint held in memory (what a reload now would take back); null when none is. */
  get shadowStep(): number | null {
    return this.#shadow?.step ?? null;
  }

  /**
   * Fetches a fresh checkpoint to hold in memory while the run trains, taking at most `share` of
   * the worker's time: one that takes 1 ms comes every few steps, one that takes 300 ms every 6 s.
   */
  shadow(now: number, share = 0.05) {
    const entry = this.entry;
    const current = this.run.current();
    if (!entry || !current || this.#shadowing || now - this.#shadowCost.at < this.#shadowCost.ms / share) return;
    if (Math.max(this.#shadow?.step ?? 0, this.lastAutosave?.step ?? 0) >= current.step) return;
    this.#shadowing = true;
    this.run
      .save()
      .then(
        (saved) => {
          this.#shadowCost = { ms: saved.ms, at: Date.now() };
          if (this.entry === entry) this.#shadow = { ...saved, key: entry.key, info: current.info, backend: current.backend };
        },
        () => {}, // the next autosave reports what is wrong
      )
      .finally(() => (this.#shadowing = false));
  }

  /**
   * Writes the in-memory checkpoint when it is newer than the store's, starting the write at once
   * (the page is being hidden or left: an answer from the worker would come too late).
   */
  persistShadow() {
    const shadow = this.#shadow;
    const entry = this.entry;
    if (!shadow || !entry || shadow.key !== entry.key || shadow.step <= (this.lastAutosave?.step ?? -1)) return;
    const { bytes, step, valLoss, valStep, info } = shadow;
    const date = Date.now();
    const extras = runExtras(info, shadow.backend);
    this.store.put({ key: entry.key, name: runName(info), date, step, valLoss, valStep, bytes, corpus: entry.corpus, ...extras }).then(
      () => {
        if (this.entry === entry && (this.lastAutosave?.step ?? -1) < step) this.lastAutosave = { step, date };
      },
      (err: unknown) => (this.storeError = errorMessage(err)),
    );
  }

  /** Keeps a checkpoint in memory as the run's latest. */
  keep(step: number, bytes: Uint8Array) {
    if (this.restartStep !== null && step > this.restartStep) this.run.recovered();
    const others = this.#kept.filter((k) => k.step !== step);
    const recent = others.at(-1);
    this.#set([...others.filter((k) => k.pinned || k === recent), { step, bytes }]);
  }

  /** Keeps the latest checkpoint from before `step` (a loss spike's) until the run ends; returns its step, or null. */
  keepBefore(step: number): number | null {
    const kept = this.before(step);
    if (!kept) return null;
    kept.pinned = true;
    return kept.step;
  }

  /** The step of the latest checkpoint kept from before `step`, or null (reactive: read by the fault and spike panels). */
  stepBefore(step: number): number | null {
    return this.rollbackSteps.filter((s) => s < step).at(-1) ?? null;
  }

  /** The latest checkpoint kept from before `step`. */
  before(step: number): KeptCheckpoint | undefined {
    return this.#kept.filter((k) => k.step < step).at(-1);
  }

  /** The latest checkpoint kept, where a restart resumes. */
  latest(): KeptCheckpoint | undefined {
    return this.#kept.at(-1);
  }

  /** Every checkpoint kept, for a restart to carry over to the run it continues. */
  all(): KeptCheckpoint[] {
    return this.#kept;
  }

  /** The checkpoints of a run that continues (a restart): those up to the step it resumed at. */
  carryOver(kept: KeptCheckpoint[], step: number) {
    this.#set(kept.filter((k) => k.step <= step));
  }

  /** Forgets the current run's checkpoints (not the store's). */
  /** Reads the current record's new losses for spikes, and keeps the checkpoint before each one found. */
  watchSpikes(record: Pick<RunRecord, 'steps' | 'losses'> | null) {
    const found = this.#spikeWatch.update(record);
    for (const s of found) this.keepBefore(s.step);
    if (found.length || this.#spikeWatch.spikes.length !== this.spikes.length) this.spikes = this.#spikeWatch.spikes.slice();
  }

  /** Steps a live run (training or paused) at `step` has taken since its last save here: what closing the tab would lose. */
  unsavedSteps(live: boolean, step: number, startStep: number): number {
    if (!this.entry || !live) return 0;
    return Math.max(0, step - (this.lastAutosave?.step ?? startStep));
  }

  clear() {
    this.#spikeWatch.reset();
    this.spikes = [];
    this.lastAutosave = null;
    this.entry = null;
    this.#shadow = null;
    this.#set([]);
  }

  #set(kept: KeptCheckpoint[]) {
    this.#kept = kept;
    this.rollbackSteps = kept.map((k) => k.step);
    this.restartStep = kept.at(-1)?.step ?? null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
