/** `sample` and `score`: a checkpoint's model generating text, and the log-probability it gives a text. */
import type { CharTokenizer } from '../core/tokenizer.ts';
import { countCodePoints } from '../core/tokenizer.ts';
import { startBackend } from './backend.ts';
import { checkInputFile, readCheckpoint } from './files.ts';
import { backendChoice, checkSeed, checkWhole, required, UsageError, type ParsedFlags } from './flags.ts';
import { emit } from './output.ts';

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
