/**
 * 'inspect' requests: the current model from inside (workers/inspect.ts), for the page's "Inside
 * the model" panel, which asks at every evaluation and on demand. Every forward pass is issued
 * before the first readback, so all of one answer comes from the same step's weights, and it runs
 * between two training steps as samples do (inference.ts).
 */
import { defaultProbeLength, probeChoices, PROBE_TRIALS } from '../../src/core/icl.ts';
import { projectRows } from '../../src/core/pca.ts';
import { attentionMaps, lossByPosition, probe, type Inspection } from '../inspect.ts';
import type { ToWorker } from '../protocol.ts';
import { post } from './scope.ts';
import { current } from './current.ts';

export async function inspect(msg: Extract<ToWorker, { type: 'inspect' }>) {
  if (!current) throw new Error('there is no model to look inside yet: train one first');
  const { model, tokenizer, trainer } = current.session.run;
  const { request } = msg;
  const { blockSize: T, vocabSize: V, nEmbd: C } = model.config;
  const vocab = tokenizer.vocab;
  let ids: number[];
  if (request.text === null) ids = Array.from(trainer.valBatches[0].x.subarray(0, T));
  else {
    const chars = Array.from(request.text).slice(-T);
    if (chars.length === 0) throw new Error('the text is empty: give at least one character to look at');
    const missing = chars.find((c) => !vocab.includes(c));
    if (missing !== undefined)
      throw new Error(`${JSON.stringify(missing)} is not in this model's vocabulary: it never saw that character in training`);
    ids = Array.from(tokenizer.encode(chars.join('')));
  }
  const step = trainer.step;
  // Each call issues its forward pass before it first awaits: all of them see this step's weights.
  const [maps, positions, probed, wte] = await Promise.all([
    attentionMaps(model, ids),
    request.positions ? lossByPosition(model, trainer.valBatches, trainer.fusedKernels) : null,
    request.probe ? probe(model, { length: defaultProbeLength(T), trials: PROBE_TRIALS, seed: 0, choices: probeChoices(vocab) }) : null,
    request.embedding ? model.wte.data() : null,
  ]);
  const inspection: Inspection = {
    step,
    chars: ids.map((id) => vocab[id]),
    maps,
    positions,
    probe: probed,
    embedding: wte ? { ...projectRows(wte, V, C), chars: [...vocab] } : null,
  };
  post({ type: 'inspected', id: msg.id, inspection }, [maps.weights.buffer]);
}
