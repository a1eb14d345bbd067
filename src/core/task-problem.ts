/** What every task family (src/core/tasks.ts) is made of: a problem, and the checks and shots each family uses. */

/** One problem: the model is given `prompt` and should write `answer`, then a newline. */
export interface Problem {
  prompt: string; // the solved examples before it (its shots), then the problem, up to where the answer starts
  answer: string; // the whole continuation a right model writes (with a scratchpad, the steps and the result)
  kind?: string; // which sub-task it is (instruct: the instruction), for per-kind scores
  trap?: string; // the wrong answer the corpus makes most likely (memo: the saying's own ending), for a trap rate
}

/** Throws unless `v` is a whole number in lo..hi, naming the task and the key. */
export function checkWhole(task: string, key: string, v: number | string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new Error(`${task} ${key} must be a whole number from ${lo} to ${hi}, got ${v}`);
  return v;
}

/** The first `n` lines of `lines` as a prompt's shots: each a solved problem and its newline. */
export function shotsOf(lines: readonly string[], n: number): string {
  return lines
    .slice(0, n)
    .map((l) => `${l}\n`)
    .join('');
}
