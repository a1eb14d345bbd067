/**
 * `train`: a new run, a resumed one (--resume) or a fine-tuned one (--init-from), checked flag by
 * flag before any backend starts, and kept with --save: every --save-every steps while it trains,
 * as soon as the last step is in, and again after the final evaluation.
 */
import { defaultTrainConfig, validateModelConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from '../core/config.ts';
import { CharTokenizer } from '../core/tokenizer.ts';
import type { RunHistory } from '../../workers/checkpoint.ts';
import type { FromCheckpoint } from '../../workers/run.ts';
import { sha256 } from '../core/sha256.ts';
import { validateRunFits } from '../core/footprint.ts';
import { capacityBefore, startBackend } from './backend.ts';
import { randomUUID } from 'node:crypto';
import {
  checkInputFile,
  checkOutputPath,
  checkSaveTarget,
  lockSave,
  isNamedCorpus,
  peekCheckpoint,
  readCheckpoint,
  readCorpusWithFloor,
  writeAtomically,
} from './files.ts';
import { backendChoice, checkWhole, refuseFlags, RESUMABLE, RESUME_FLAGS, sampling, UsageError, type ParsedFlags } from './flags.ts';
import { PROBE_MIN_CONTEXT, prober } from './inspect.ts';
import { refuseUnknown, taskFlag, taskScorer } from './inference.ts';
import { chooseProblems } from '../core/tasks.ts';
import { emit } from './output.ts';
import { checkLedgerPath } from './forecast.ts';
import { runForecasts } from './run-forecasts.ts';

/** The noise scale compares a minibatch's gradient with its first half's. */
const NOISE_NEEDS_BATCH = "--noise-scale-every compares a minibatch's gradient with its first half's: it needs a batch of 2 or more";
/** The model's shape comes from the checkpoint when fine-tuning. */
const SHAPE_FLAGS = ['layers', 'heads', 'embd', 'ctx'];

export async function train({ values: v, text, explicit }: ParsedFlags<'train'>) {
  const model: Omit<ModelConfig, 'vocabSize'> = { nLayer: v.layers, nHead: v.heads, nEmbd: v.embd, blockSize: v.ctx, dropout: v.dropout };
  let config: TrainConfig = {
    ...defaultTrainConfig,
    batchSize: v.batch,
    maxSteps: v.steps,
    learningRate: v.lr,
    minLr: v['min-lr'],
    warmupSteps: v.warmup,
    weightDecay: v.wd,
    gradClip: v.clip,
    sampling: sampling(v.sampling),
    seed: v.seed,
    evalEvery: v['eval-every'],
    evalBatches: v['eval-batches'],
    logEvery: v['log-every'],
  };
  // Every flag is checked before the corpus is read or a backend starts. The vocabulary is not
  // known yet: 2 stands in for it (the corpus is checked against the model once it is read).
  refuseFlags([...validateModelConfig({ ...model, vocabSize: 2 }), ...validateTrainConfig(config)], text);
  const backendName = backendChoice(v.backend);
  // The probe shows its two copies in one context; a resumed or fine-tuned run's is checked once its checkpoint is named.
  if (v.probe && v.ctx < PROBE_MIN_CONTEXT && v.resume === undefined && v['init-from'] === undefined)
    throw new UsageError(`--probe needs a context of at least ${PROBE_MIN_CONTEXT} characters (two copies of 2); --ctx is ${text.ctx}`);
  checkWhole(v['noise-scale-every'], 'noise-scale-every', 0);
  checkWhole(v['forecast-every'], 'forecast-every', 0);
  checkWhole(v['task-n'], 'task-n', 1, 100_000);
  // The task's problems, generated now: a bad spec is refused before the corpus is read.
  const task = v.task === undefined ? null : taskFlag(v.task);
  const taskProblems = task && chooseProblems(task.problems, v['task-n'], 0);
  if (v.ledger !== undefined) checkLedgerPath(v.ledger);
  if (v['noise-scale-every'] > 0 && v.batch < 2 && v.resume === undefined) throw new UsageError(NOISE_NEEDS_BATCH); // a resumed run's batch is checked once read
  if (v['save-every'] !== undefined) {
    checkWhole(v['save-every'], 'save-every', 0);
    if (v.save === undefined) throw new UsageError('--save-every says how often to write the --save file: give --save too');
  }
  // Given is given: an empty --resume is an error, never a silent fresh run (which would overwrite --save).
  const resume = v.resume ?? null;
  const initFrom = v['init-from'] ?? null;
  if (resume !== null) checkInputFile(resume, 'resume');
  if (initFrom !== null) checkInputFile(initFrom, 'init-from');
  if (resume && initFrom)
    throw new UsageError('--resume continues a run and --init-from starts a new one from its weights: give one of them');
  if (resume) {
    const fixed = [...explicit].filter((f) => !(RESUME_FLAGS as readonly string[]).includes(f));
    if (fixed.length)
      throw new UsageError(
        `--resume continues the saved run with its own settings; drop --${fixed.join(', --')} (only ${RESUMABLE} may change)`,
      );
  }
  if (initFrom) {
    const fixed = SHAPE_FLAGS.filter((f) => explicit.has(f));
    if (fixed.length) throw new UsageError(`--init-from takes the model's shape from the checkpoint; drop --${fixed.join(', --')}`);
  }
  // What the checkpoint's header says, before the backend starts: its context (for --probe) and its corpus.
  const peek = resume || initFrom ? peekCheckpoint((resume || initFrom)!) : {};
  if (v.probe && peek.blockSize !== undefined && peek.blockSize < PROBE_MIN_CONTEXT)
    throw new UsageError(
      `--probe needs a context of at least ${PROBE_MIN_CONTEXT} characters (two copies of 2); the model in ${resume || initFrom} has ${peek.blockSize}`,
    );
  // A resumed run trains on its own corpus: without --corpus, the one its checkpoint names, if that is a name rather than a file.
  let corpusName = v.corpus;
  if (resume && !explicit.has('corpus')) {
    if (peek.corpus === undefined)
      throw new UsageError(`--resume ${resume}: this checkpoint does not say which corpus it was trained on; give it with --corpus`);
    if (!isNamedCorpus(peek.corpus))
      throw new UsageError(`--resume ${resume}: this checkpoint was trained on ${peek.corpus}; give it with --corpus`);
    corpusName = peek.corpus;
  }
  // A resumed run keeps its id, so its saves may replace its own earlier ones; a new run has a new one.
  const resumedId = resume ? (peek.run ?? null) : null;
  const runId = resumedId ?? randomUUID();
  if (v.save !== undefined) {
    checkOutputPath(v.save, 'save', [
      { path: corpusName, what: 'the corpus' },
      ...(initFrom ? [{ path: initFrom, what: 'the --init-from checkpoint' }] : []),
    ]);
  }

  const { prepareRun, createRun, disposeRun, referencesWithGaps, runFromCheckpoint, CheckpointMisfit } =
    await import('../../workers/run.ts');
  const corpus = readCorpusWithFloor(corpusName);
  const corpusId = { name: corpusName, sha256: await sha256(corpus.text) };
  // A new run is checked before any backend work; a resumed or fine-tuned one needs its checkpoint first.
  // Memory is checked here too, so that its error names the flag (prepareRun would only say the config is invalid).
  if (!resume && !initFrom)
    refuseFlags(
      validateRunFits({ ...model, vocabSize: CharTokenizer.fromText(corpus.text).size }, config, capacityBefore(backendName)),
      text,
    );
  // A fine-tuned model's vocabulary grows to the corpus's; a resumed one's is the corpus's too: both can be checked now.
  if (task && taskProblems) {
    refuseUnknown(CharTokenizer.fromText(corpus.text).vocab, task.spec, taskProblems, "the model's");
  }
  let prepared = null;
  if (!resume && !initFrom) {
    try {
      prepared = prepareRun(corpus.text, model, config);
    } catch (err) {
      // The flags were checked above: what is left is the corpus against them (too short for the context, or the batch).
      throw new UsageError(`--corpus ${corpusName}: ${(err as Error).message}`);
    }
  }
  if (v.save !== undefined) {
    // Last before the backend: whether --save may replace what is there, and its lock for this run.
    checkSaveTarget(v.save, { resume, runId: resumedId, force: v.force === true });
    lockSave(v.save, runId); // a second run given the same --save is refused while this one lives
  }
  const backend = await startBackend(backendName);
  const { TrainingSession } = await import('../../workers/session.ts');
  const { loadCheckpoint, saveCheckpoint } = await import('../../workers/checkpoint.ts');
  let history: RunHistory = { losses: [], evals: [] };
  let run;
  if (resume || initFrom) {
    // The same rules as the app's Load and Resume (runFromCheckpoint in workers/run.ts).
    const file = (resume ?? initFrom)!;
    const ck = loadCheckpoint(readCheckpoint(file));
    const how: FromCheckpoint = resume
      ? {
          mode: 'resume',
          overrides: {
            ...(explicit.has('steps') ? { maxSteps: config.maxSteps } : {}),
            ...(explicit.has('log-every') ? { logEvery: config.logEvery } : {}),
            ...(explicit.has('eval-every') ? { evalEvery: config.evalEvery } : {}),
          },
        }
      : { mode: 'finetune', train: config, ...(explicit.has('dropout') ? { dropout: model.dropout } : {}) };
    let built;
    try {
      const name = explicit.has('corpus') ? `--corpus ${corpusName}` : corpusName;
      built = await runFromCheckpoint(ck, { name, text: corpus.text, sha256: corpusId.sha256 }, how);
    } catch (err) {
      throw err instanceof CheckpointMisfit ? new UsageError(`${file}: ${err.message}`) : err;
    }
    ({ prepared, run, history } = built);
    config = prepared.train;
    // The CLI's train trains: a finished run has nothing left to do unless --steps asks for more.
    if (resume && config.maxSteps <= run.trainer.step) {
      disposeRun(run);
      throw new UsageError(`${resume} is already at step ${run.trainer.step}; give --steps above that to train on`);
    }
  } else {
    run = createRun(prepared!);
  }
  const { total, nonEmbedding } = (await import('../core/config.ts')).countParams(run.model.config);
  const refs = referencesWithGaps(prepared!, corpus.entropyRate);
  emit({
    type: 'start',
    backend: backend.name,
    adapter: backend.adapter,
    vocabSize: run.tokenizer.size,
    trainChars: run.split.train,
    valChars: run.split.val,
    params: total,
    nonEmbeddingParams: nonEmbedding,
    step: run.trainer.step,
    // The run's whole config, so that a log says what made it (and `forecast --run` knows the planned schedule).
    model: run.model.config,
    train: config,
    corpus: corpusName,
    // The yardsticks: n-gram baselines on this split, and the entropy floor of a synthetic corpus.
    references: refs.references,
    ...(refs.leftOut.length ? { referencesLeftOut: refs.leftOut } : {}),
  });
  const trainer = run.trainer;
  if (v['noise-scale-every'] > 0 && config.batchSize < 2) {
    disposeRun(run);
    throw new UsageError(NOISE_NEEDS_BATCH);
  }
  const probing = v.probe ? await prober(run.model, run.tokenizer) : null; // a probe line after each eval
  // A task line after each evaluation, scored between two steps (the weights hold still meanwhile).
  const tasks = task && taskProblems && (await taskScorer(run.model, run.tokenizer, task.spec, taskProblems));
  // Forecast lines while it trains, and the ledger's entries once it has ended.
  const forecasts = runForecasts({
    history,
    trainer,
    corpus: corpusName,
    every: v['forecast-every'],
    ledger: v.ledger ?? null,
    floor: corpus.entropyRate ?? null,
  });
  const path = v.save;
  const save =
    path === undefined
      ? undefined
      : async () => {
          const bytes = await saveCheckpoint(run.model, {
            vocab: run.tokenizer.vocab,
            train: trainer.config,
            trainer,
            corpus: corpusId,
            history,
            runId,
          });
          writeAtomically(path, bytes);
          emit({ type: 'saved', step: trainer.step, path });
        };
  const session = new TrainingSession(
    run,
    history,
    {
      onStep: (e) => {
        emit(e);
        forecasts.afterStep(e.step);
      },
      onEval: (e) => {
        emit(e);
        probing?.at(e.step);
        if (tasks) session.betweenSteps(() => tasks(e.step));
        forecasts.afterEval(e.step);
      },
      onNoise: emit,
    },
    // Without --save-every, the run saves at each evaluation (a resumed run: at its own interval).
    { noiseScaleEvery: v['noise-scale-every'], save, saveEvery: v['save-every'] ?? config.evalEvery },
  );
  await session.train();
  const summary = await session.finish(backend.name);
  for (const job of session.takeLeftovers()) await job(); // the task of an evaluation finish() added
  await probing?.done();
  forecasts.atEnd();
  emit(summary);
  session.dispose();
}
