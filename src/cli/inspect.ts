/**
 * `inspect` and `probe`: a checkpoint's model from inside. inspect prints every layer × head's
 * attention on a text and the surprisal of each of its characters; probe runs the in-context
 * learning test (random characters shown twice) and prints the loss on each copy. `train --probe`
 * prints the same probe line after each evaluation.
 */
import { defaultProbeLength, probeChoices, PROBE_TRIALS } from '../core/icl.ts';
import type { CharTokenizer } from '../core/tokenizer.ts';
import { countCodePoints } from '../core/tokenizer.ts';
import type { ProbeResult } from '../../workers/inspect.ts';
import type { GPT } from '../../workers/model.ts';
import { checkSeed, checkWhole, required, UsageError, type ParsedFlags } from './flags.ts';
import { openCheckpoint } from './inference.ts';
import { emit } from './output.ts';

/** weights [layer][head][query][key] flattened → nested arrays, rounded to 6 decimals (JSON stays readable). */
function nest(weights: Float32Array, nLayer: number, nHead: number, T: number): number[][][][] {
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return Array.from({ length: nLayer }, (_, l) =>
    Array.from({ length: nHead }, (_, h) =>
      Array.from({ length: T }, (_, q) =>
        Array.from(weights.subarray(((l * nHead + h) * T + q) * T, ((l * nHead + h) * T + q + 1) * T), round),
      ),
    ),
  );
}

export async function inspect({ values: v }: ParsedFlags<'inspect'>) {
  const text = required(v.text, 'text');
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    const { blockSize } = model.config;
    const n = countCodePoints(text);
    if (n > blockSize) throw new UsageError(`--text has ${n} characters; the model's context is ${blockSize}: give at most ${blockSize}`);
    let ids: Int32Array;
    try {
      ids = tokenizer.encode(text);
    } catch (err) {
      throw new UsageError(`--text: ${(err as Error).message}`);
    }
    const { attentionMaps } = await import('../../workers/inspect.ts');
    const maps = await attentionMaps(model, ids);
    emit({
      type: 'inspect',
      chars: Array.from(text),
      nLayer: maps.nLayer,
      nHead: maps.nHead,
      attention: nest(maps.weights, maps.nLayer, maps.nHead, ids.length),
      surprisal: maps.surprisal, // nats, characters 2..T
    });
  } finally {
    model.dispose();
  }
}

/** The shortest context the probe runs in: two copies of 2 characters. */
export const PROBE_MIN_CONTEXT = 4;

/** The probe's options from flags (length and trials checked against the model), for probe and train --probe. */
export function probeOptions(model: GPT, tokenizer: CharTokenizer, flags: { length?: number; trials?: number; seed?: number } = {}) {
  const half = Math.floor(model.config.blockSize / 2);
  if (model.config.blockSize < PROBE_MIN_CONTEXT)
    throw new UsageError(
      `the probe needs a context of at least ${PROBE_MIN_CONTEXT} characters (two copies of 2), the model has ${model.config.blockSize}`,
    );
  const length = flags.length ?? defaultProbeLength(model.config.blockSize);
  checkWhole(length, 'length', 2, half);
  const trials = flags.trials ?? PROBE_TRIALS;
  checkWhole(trials, 'trials', 1, 1024);
  return { length, trials, seed: flags.seed ?? 0, choices: probeChoices(tokenizer.vocab) };
}

/** A probe's result as a JSON line's fields, the induction scores as [layer][head]. */
function probeFields(r: ProbeResult, seed: number, nHead: number) {
  const { length, trials, first, second, score, chance } = r;
  const induction = Array.from({ length: r.induction.length / nHead }, (_, l) => r.induction.slice(l * nHead, (l + 1) * nHead));
  return { length, trials, seed, first, second, score, chance, induction };
}

/**
 * train --probe: `at(step)` probes the model at an evaluation. Its forward pass runs (or, on
 * webgpu, is queued) at once, so it sees that step's weights; the line follows once it is read
 * back, and `done` waits for the last one.
 */
export async function prober(model: GPT, tokenizer: CharTokenizer) {
  const opts = probeOptions(model, tokenizer);
  const { probe } = await import('../../workers/inspect.ts');
  const pending: Promise<void>[] = [];
  return {
    at(step: number) {
      const line = probe(model, opts).then((r) => emit({ type: 'probe', step, ...probeFields(r, opts.seed, model.config.nHead) }));
      line.catch(() => {}); // reported by done()
      pending.push(line);
    },
    done: () => Promise.all(pending),
  };
}

export async function probe({ values: v, text }: ParsedFlags<'probe'>) {
  checkSeed(v.seed, text);
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    const opts = probeOptions(model, tokenizer, v);
    const { probe: runProbe } = await import('../../workers/inspect.ts');
    emit({ type: 'probe', ...probeFields(await runProbe(model, opts), opts.seed, model.config.nHead) });
  } finally {
    model.dispose();
  }
}
