/**
 * The page's view inside the model: the latest attention maps, loss by position and embedding
 * map, and the in-context probe's history over the run. It asks the worker at every evaluation
 * (the run state calls `evaluated`) and on demand; one request at a time, since the worker answers
 * between training steps, and a request asked for meanwhile is sent once the current one is in.
 */
import { errorMessage } from '../core/errors.ts';
import { phaseChangeStep, type ProbePoint } from '../core/icl.ts';
import type { Inspection, InspectRequest, ToWorker } from '../../workers/protocol.ts';

export type { Inspection };

/** How the page sends a request to the worker (RunState's link; settled by the 'inspected' answer). */
export type InspectLink = (make: (id: number) => Extract<ToWorker, { type: 'inspect' }>) => { answer: Promise<Inspection> };

/** A head's induction score at or above this marks it as an induction head in the grid (even attention gives ~1/position). */
export const INDUCTION_THRESHOLD = 0.3;

export class Inside {
  /** The text the attention maps show; empty: the start of the held-out text. */
  text = $state('');
  /** The latest answer. */
  latest = $state.raw<Inspection | null>(null);
  /** The latest loss by position and the step it was measured at (a text-only refresh keeps it). */
  positions = $state.raw<{ step: number; loss: number[] } | null>(null);
  /** The probe at each evaluation of this run, by step. */
  probes = $state.raw<ProbePoint[]>([]);
  /** The latest embedding map. */
  embedding = $state.raw<(NonNullable<Inspection['embedding']> & { step: number }) | null>(null);
  /** Why the latest request failed, if it did. */
  error = $state<string | null>(null);
  /** A request is in flight. */
  asking = $state(false);
  /** The head shown large, if any. */
  selected = $state<{ layer: number; head: number } | null>(null);

  /** The first probe at which the second copy became cheap (icl.ts); null while none has. */
  readonly phaseChange = $derived(phaseChangeStep(this.probes));
  /** Induction scores of the latest probe, [layer·nHead + head]; null before the first. */
  induction = $state.raw<number[] | null>(null);

  #link: InspectLink;
  #wanted: InspectRequest | null = null;
  #generation = 0; // bumped by clear: answers about a run that is gone are dropped

  constructor(link: InspectLink) {
    this.#link = link;
  }

  /** An evaluation came in: everything is measured again. */
  evaluated() {
    this.#ask({ positions: true, probe: true, embedding: true });
  }

  /** On demand: the attention maps of the current text (and, with `all`, everything else). */
  refresh(all = false) {
    this.#ask({ positions: all, probe: all, embedding: all });
  }

  /** The run is gone (reset, a new run, another backend): forget what it showed. */
  clear() {
    this.#generation++;
    this.#wanted = null;
    this.latest = null;
    this.positions = null;
    this.probes = [];
    this.induction = null;
    this.embedding = null;
    this.error = null;
    this.selected = null;
  }

  #ask(what: Omit<InspectRequest, 'text'>) {
    const w = this.#wanted;
    // Requests asked for while one is in flight merge: the next one measures everything any of them wanted.
    this.#wanted = {
      text: null,
      positions: what.positions || (w?.positions ?? false),
      probe: what.probe || (w?.probe ?? false),
      embedding: what.embedding || (w?.embedding ?? false),
    };
    if (!this.asking) void this.#drain();
  }

  async #drain() {
    this.asking = true;
    while (this.#wanted) {
      const request: InspectRequest = { ...this.#wanted, text: this.text === '' ? null : this.text };
      this.#wanted = null;
      const generation = this.#generation;
      try {
        const inspection = await this.#link((id) => ({ type: 'inspect', id, request })).answer;
        if (generation !== this.#generation) continue;
        this.#receive(inspection);
        this.error = null;
      } catch (e) {
        if (generation !== this.#generation) continue;
        this.error = errorMessage(e);
      }
    }
    this.asking = false;
  }

  #receive(inspection: Inspection) {
    this.latest = inspection;
    const { step, positions, probe, embedding } = inspection;
    if (positions) this.positions = { step, loss: positions };
    if (embedding) this.embedding = { ...embedding, step };
    if (probe) {
      this.induction = probe.induction;
      const point: ProbePoint = { step, first: probe.first, second: probe.second, chance: probe.chance };
      this.probes = [...this.probes.filter((p) => p.step !== step), point].sort((a, b) => a.step - b.step);
    }
  }
}
