/**
 * The lines of models trained by several jobs at once (model-jobs.ts), printed as --jobs 1 prints
 * them: model by model, each its model (or rung) line first, then its points in the order of their
 * steps, whichever job sent which line when. Model 0's lines print as they come; a later model's
 * wait until every earlier one has ended.
 */
import type { JobLine } from './model-job.ts';

/** One model's lines by place, and how far they are printed. */
interface ModelSlots {
  lines: JobLine[]; // [0]: the model or rung line; [1 + k]: the point at steps[k]
  steps: number[]; // the steps of its points, in order: known from its pauses before any is measured
  trained: boolean;
  printed: number;
}

export class ModelLines {
  readonly #models: ModelSlots[];
  readonly #print: (line: JobLine) => void;
  #next = 0; // the model whose lines print as they come
  #allEnded: () => void = () => {};
  /** Resolves once every model has trained and each of its points has been printed. */
  readonly ended: Promise<void>;

  constructor(models: number, print: (line: JobLine) => void) {
    this.#models = Array.from({ length: models }, () => ({ lines: [], steps: [], trained: false, printed: 0 }));
    this.#print = print;
    this.ended = new Promise((resolve) => (this.#allEnded = resolve));
    this.#advance(); // no models: ended at once
  }

  /** Model `model` will have a point at `step` (its pauses come in step order, before it has trained). */
  pause(model: number, step: number) {
    const m = this.#models[model];
    if (m.trained) throw new Error(`model ${model} has trained: no point of it is still to come`);
    m.steps.push(step);
  }

  /** A line has come: printed now, or held until the lines before it are out. */
  line(line: JobLine) {
    const m = this.#models[line.index];
    let place = 0;
    if (line.type === 'point') {
      place = 1 + m.steps.indexOf(line.point.step);
      if (place === 0) throw new Error(`model ${line.index} has no point to come at step ${line.point.step}`);
    }
    m.lines[place] = line;
    this.#advance();
  }

  /** Model `model` has trained: it ends once its points are in. */
  trained(model: number) {
    this.#models[model].trained = true;
    this.#advance();
  }

  /** Prints what may print now: the lines of `next` as far as they have come, then the next model's once it has ended. */
  #advance() {
    for (; this.#next < this.#models.length; this.#next++) {
      const m = this.#models[this.#next];
      while (m.lines[m.printed]) this.#print(m.lines[m.printed++]);
      if (!(m.trained && m.printed === 1 + m.steps.length)) return;
    }
    this.#allEnded();
  }
}
