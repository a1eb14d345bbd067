/**
 * The latest sample as it streams in: the worker sends its characters one event at a time,
 * tagged with the request's id, and only the latest request's reach the page.
 */

export interface SampleRequest {
  prompt: string;
  length: number;
  temperature: number;
  seed: number; // same seed, prompt, temperature and model: same text
}

export class Sampler {
  prompt = $state(''); // the prompt of the latest sample
  step = $state<number | null>(null); // the step of the model that wrote it
  auto = $state(false); // it was written on its own, at an evaluation, not asked for
  text = $state(''); // what the model wrote after it
  busy = $state(false); // characters are still coming
  error = $state<string | null>(null);
  #id = 0; // the latest request: characters of earlier ones are dropped

  /** Starts a sample by the model at `step` (`auto`: at an evaluation, unasked); returns the id its events will carry. */
  begin(prompt: string, step: number, auto = false): number {
    this.prompt = prompt;
    this.step = step;
    this.auto = auto;
    this.text = '';
    this.error = null;
    this.busy = true;
    return ++this.#id;
  }

  token(id: number, text: string) {
    if (id === this.#id) this.text += text;
  }

  done(id: number) {
    if (id === this.#id) this.busy = false;
  }

  failed(id: number, message: string) {
    if (id !== this.#id) return;
    this.error = message;
    this.busy = false;
  }

  /** The worker that was sampling is gone: nothing more will come. */
  abandon() {
    this.busy = false;
  }

  /** Forgets the sample, as when its model is gone. */
  clear() {
    this.prompt = '';
    this.step = null;
    this.text = '';
    this.error = null;
  }
}
