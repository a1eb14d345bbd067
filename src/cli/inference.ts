/** `sample`, `score` and `eval`: a checkpoint's model generating text, the log-probability it gives a text, and its score on a task. */
import type { CharTokenizer } from '../core/tokenizer.ts';
import { countCodePoints } from '../core/tokenizer.ts';
import { startBackend } from './backend.ts';
import { checkInputFile, readCheckpoint } from './files.ts';
import { backendChoice, checkSeed, checkWhole, required, UsageError, type ParsedFlags } from './flags.ts';
import { emit } from './output.ts';
import { chooseProblems, generateTask, isTaskSpec, TASK_NAMES, unknownCharactersList, type Problem, type TaskSet } from '../core/tasks.ts';
import type { GPT } from '../../workers/model.ts';

/** The checkpoint --checkpoint names, on the --backend chosen. */
export async function openCheckpoint(flags: { checkpoint?: string; backend: string }) {
  const choice = backendChoice(flags.backend);
  const path = required(flags.checkpoint, 'checkpoint');
  checkInputFile(path, 'checkpoint');
  const bytes = readCheckpoint(path);
  await startBackend(choice);
  const { loadCheckpoint } = await import('../../workers/checkpoint.ts');
  return loadCheckpoint(bytes);
}

/** A prompt or text refused by the model's vocabulary is a bad flag: the message names it. */
function encodeFlag(tokenizer: CharTokenizer, text: string, flag: string) {
  try {
    tokenizer.encode(text);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

/** Without --prompt: a newline if the model knows one, else a space, else its first character. */
function defaultPrompt(tokenizer: CharTokenizer): string {
  return ['\n', ' '].find((ch) => tokenizer.vocab.includes(ch)) ?? tokenizer.vocab[0];
}

export async function sample({ values: v, text, explicit }: ParsedFlags<'sample'>) {
  const { temperature, length, seed } = v;
  if (temperature < 0) throw new UsageError(`--temperature must be ≥ 0 (0 always takes the most probable character), got ${temperature}`);
  const { generate, MAX_GENERATE_LENGTH } = await import('../../workers/sample.ts');
  checkWhole(length, 'length', 0, MAX_GENERATE_LENGTH);
  checkSeed(seed, text);
  if (explicit.has('prompt') && v.prompt === '')
    throw new UsageError('--prompt is empty: give at least one character to continue from (the model has no start token)');
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    const prompt = explicit.has('prompt') ? v.prompt : defaultPrompt(tokenizer);
    encodeFlag(tokenizer, prompt, 'prompt');
    let completion = '';
    const kvCache = !v['no-kv-cache'];
    for await (const ch of generate(model, tokenizer, prompt, { length, temperature, seed, kvCache })) completion += ch;
    emit({ type: 'sample', prompt, completion, temperature, seed });
  } finally {
    model.dispose();
  }
}

/** --task: a task spec, parsed and generated now, so a bad one is refused before any backend starts. */
export function taskFlag(spec: string | undefined): TaskSet {
  const task = required(spec, 'task');
  if (!isTaskSpec(task))
    throw new UsageError(
      `--task ${JSON.stringify(task)} is not a task: the tasks are ${TASK_NAMES.join(', ')} (with keys, as arith:digits=2)`,
    );
  try {
    return generateTask(task);
  } catch (err) {
    throw new UsageError(`--task ${task}: ${(err as Error).message}`);
  }
}

/**
 * A task's problems that `vocab` cannot write are a bad --task: the message names the characters,
 * whose vocabulary it is (`whose`), and the corpus to `command` on instead.
 */
export function refuseUnknown(vocab: readonly string[], spec: string, problems: readonly Problem[], whose: string, command = 'train') {
  const missing = unknownCharactersList(vocab, problems);
  if (missing)
    throw new UsageError(
      `--task ${spec}: its problems use characters ${whose} vocabulary lacks (${missing}): ${command} on --corpus ${spec}`,
    );
}

/**
 * For train --task: scores `problems` with the model as it stands and prints a task line for the
 * step; called between two steps, so the weights hold still. Checks the vocabulary once, now.
 */
export async function taskScorer(model: GPT, tokenizer: CharTokenizer, spec: string, problems: readonly Problem[]) {
  refuseUnknown(tokenizer.vocab, spec, problems, "the model's");
  const { evaluateTask } = await import('../../workers/task-eval.ts');
  return async (step: number) => {
    try {
      const { items: _, ...scores } = await evaluateTask(model, tokenizer, problems);
      emit({ type: 'task', step, task: spec, ...scores });
    } catch (err) {
      emit({ type: 'task', step, task: spec, error: (err as Error).message }); // the run trains on
    }
  };
}

/** `eval`: a checkpoint's scores on a task's held-out problems (workers/task-eval.ts), one JSON line. */
export async function evalTask({ values: v, text }: ParsedFlags<'eval'>) {
  checkWhole(v.n, 'n', 1, 100_000);
  checkSeed(v.seed, text);
  const task = taskFlag(v.task);
  const problems = chooseProblems(task.problems, v.n, v.seed);
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    refuseUnknown(tokenizer.vocab, task.spec, problems, "the checkpoint's");
    const { evaluateTask } = await import('../../workers/task-eval.ts');
    const { items, ...scores } = await evaluateTask(model, tokenizer, problems);
    emit({ type: 'task', task: task.spec, ...scores, ...(v.items ? { items } : {}) });
  } finally {
    model.dispose();
  }
}

export async function score({ values: v }: ParsedFlags<'score'>) {
  const text = required(v.text, 'text');
  const n = countCodePoints(text);
  if (n < 2) throw new UsageError(`--text needs at least 2 characters (the first is given, the rest are scored), got ${n}`);
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    encodeFlag(tokenizer, text, 'text');
    const { score: scoreText } = await import('../../workers/sample.ts');
    emit({ type: 'score', ...(await scoreText(model, tokenizer, text)) });
  } finally {
    model.dispose();
  }
}
