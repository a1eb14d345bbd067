/** `batches` and `baseline`: what a run trains on, and the n-gram score it must beat. No backend, no tensors. */
import { Batcher, splitTrainVal } from '../core/batching.ts';
import { defaultModelConfig, defaultTrainConfig, validateModelConfig, validateTrainConfig } from '../core/config.ts';
import { crossEntropy, firstPredicted, fitNgram, type Smoothing } from '../core/ngram.ts';
import { streamSeed } from '../core/rng.ts';
import { CharTokenizer } from '../core/tokenizer.ts';
import { readCorpus } from './files.ts';
import { checkWhole, MAX_ORDER, refuseFlags, sampling, UsageError, type ParsedFlags } from './flags.ts';
import { emit, emitPaced } from './output.ts';

export async function batches({ values: v, text }: ParsedFlags<'batches'>) {
  const { batch: B, ctx: T, steps, seed } = v;
  // The limits `train` has for the same flags, checked before the corpus is read or a batch allocated.
  refuseFlags(
    [
      ...validateTrainConfig({ ...defaultTrainConfig, batchSize: B, maxSteps: steps, seed }).filter((i) =>
        ['batchSize', 'maxSteps', 'seed'].includes(i.field),
      ),
      ...validateModelConfig({ ...defaultModelConfig, blockSize: T, vocabSize: 2 }).filter((i) => i.field === 'blockSize'),
    ],
    text,
  );
  const order = sampling(v.sampling);
  const corpus = readCorpus(v.corpus);
  const tokenizer = CharTokenizer.fromText(corpus);
  const { train: data } = splitTrainVal(tokenizer.encode(corpus), T);
  // Same seed stream as `train`, so these are the batches a run with this seed trains on.
  const batcher = new Batcher(data, B, T, order, streamSeed(seed, 'data'));
  for (let step = 1; step <= steps; step++) {
    const batch = batcher.getBatch();
    // Paced: a billion steps into a slow pipe must not pile up in memory; `| head` ends it.
    if (!(await emitPaced({ type: 'batch', step, epoch: batch.epoch, starts: batch.starts }))) return;
  }
}

export function baseline({ values: v, text }: ParsedFlags<'baseline'>) {
  const { order } = v;
  checkWhole(order, 'order', 1, MAX_ORDER);
  let smoothing: Smoothing;
  if (v.smoothing === 'laplace') {
    // Laplace is add-1: a --k other than 1 would be silently ignored, so refuse it.
    if (v.k !== undefined && v.k !== 1) throw new UsageError(`--k applies to --smoothing addk; laplace is k = 1 (got --k ${text.k})`);
    smoothing = { kind: 'laplace' };
  } else if (v.smoothing === 'addk') {
    const k = v.k ?? 1;
    if (k <= 0) throw new UsageError(`--k must be > 0, got ${k}`);
    smoothing = { kind: 'addk', k };
  } else {
    throw new UsageError(`--smoothing must be laplace or addk, got ${JSON.stringify(v.smoothing)}`);
  }
  const corpus = readCorpus(v.corpus);
  const tokenizer = CharTokenizer.fromText(corpus); // the whole corpus's vocabulary, so every val character is in it
  // The trainer's split; the length check asks for one n-gram context (at least one character) plus a target in each half.
  // What --order cannot do on this corpus (a split too short for its context, more n-grams than a
  // double indexes over this vocabulary) is still a bad --order: exit 2, naming it.
  let split, model;
  try {
    split = splitTrainVal(tokenizer.encode(corpus), firstPredicted(order));
    model = fitNgram(split.train, tokenizer.size, order, smoothing);
  } catch (err) {
    throw new UsageError(`--order ${order}: ${(err as Error).message}`);
  }
  const { train, val } = split;
  const { nats, bits, predicted } = crossEntropy(model, val);
  // A k so large that k × the vocabulary overflows a double: no number to print, so say why.
  if (!Number.isFinite(nats))
    throw new UsageError(
      `--k ${text.k}: too large to compute (k × ${tokenizer.size} characters overflows a double); add-k smoothing near k = 1e6 is already the uniform model`,
    );
  emit({
    type: 'baseline',
    corpus: v.corpus,
    order,
    smoothing: smoothing.kind,
    k: model.k,
    vocabSize: tokenizer.size,
    trainChars: train.length,
    valChars: val.length,
    predicted,
    nats,
    bits,
  });
}
