/**
 * A model's score on a task's held-out problems (src/core/tasks.ts), three ways over the same
 * problems, so a discontinuous metric and a continuous one can be set side by side (Schaeffer et
 * al. 2023, "Are Emergent Abilities of Large Language Models a Mirage?"):
 * - exact match: the greedy continuation of the prompt, up to its first newline, is the answer;
 * - per-character accuracy: the answer's characters that the greedy continuation has in place;
 * - answer nats: −log p(answer | prompt), by the chain rule from the forward passes `score` makes
 *   (the sum of the answer characters' surprisals with the prompt before them), the continuous
 *   measure: it falls smoothly while exact match may jump;
 * - where a problem has a trap (memo's memorised ending), the share of greedy lines that are it.
 */
import type { CharTokenizer } from '../src/core/tokenizer.ts';
import { unknownCharactersList, type Problem } from '../src/core/tasks.ts';
import type { GPT } from './model.ts';
import { generate, score } from './sample.ts';

/** Scores over a set of problems (means over problems; character accuracy over all answer characters). */
export interface TaskScores {
  n: number; // problems
  exactMatch: number; // fraction whose greedy line is the answer
  charAccuracy: number; // fraction of answer characters in place in the greedy line
  answerNats: number; // mean −log p(answer | prompt), nats
  trapRate?: number; // where problems have a trap (memo): the fraction whose greedy line is the trap, the memorised wrong answer
}

/** One problem's result, for --items. */
export interface TaskItem {
  prompt: string;
  answer: string;
  output: string; // the greedy continuation up to its first newline (or its whole length + 1 characters)
  correct: boolean;
  trapped?: boolean; // the output is the problem's trap
  answerNats: number;
  kind?: string;
}

export interface TaskResult extends TaskScores {
  byKind?: Record<string, TaskScores>; // per sub-task, where the problems have kinds (instruct's instructions)
  items: TaskItem[];
}

/** The greedy continuation of `prompt`, up to its first newline, at most `max` characters. */
export async function greedyLine(model: GPT, tokenizer: CharTokenizer, prompt: string, max: number): Promise<string> {
  let out = '';
  for await (const c of generate(model, tokenizer, prompt, { length: max, temperature: 0, seed: 0 })) {
    if (c === '\n') break; // leaving the loop ends the generator, which frees its cache
    out += c;
  }
  return out;
}

/** −log p(answer | prompt): the answer characters' surprisals in a score of prompt + answer. */
export async function answerNats(model: GPT, tokenizer: CharTokenizer, p: Problem): Promise<number> {
  const n = Array.from(p.answer).length;
  const { surprisal } = await score(model, tokenizer, p.prompt + p.answer);
  return surprisal.slice(-n).reduce((a, b) => a + b, 0);
}

function summarise(items: TaskItem[]): TaskScores {
  let chars = 0;
  let inPlace = 0;
  for (const it of items) {
    const a = Array.from(it.answer);
    const o = Array.from(it.output);
    chars += a.length;
    a.forEach((c, i) => (inPlace += o[i] === c ? 1 : 0));
  }
  const n = items.length;
  const trapped = items.filter((i) => i.trapped !== undefined);
  return {
    n,
    exactMatch: n ? items.filter((i) => i.correct).length / n : 0,
    charAccuracy: chars ? inPlace / chars : 0,
    answerNats: n ? items.reduce((s, i) => s + i.answerNats, 0) / n : 0,
    ...(trapped.length ? { trapRate: trapped.filter((i) => i.trapped).length / trapped.length } : {}),
  };
}

/** Evaluates `problems` with the model as it is (no training step runs meanwhile in this realm). */
export async function evaluateTask(model: GPT, tokenizer: CharTokenizer, problems: readonly Problem[]): Promise<TaskResult> {
  const missing = unknownCharactersList(tokenizer.vocab, problems);
  if (missing)
    throw new Error(
      `the task uses characters the model's vocabulary lacks (${missing}): train on the task's corpus, or on one that has them`,
    );
  const items: TaskItem[] = [];
  for (const p of problems) {
    // Long enough for the answer (or the trap) and the newline that ends it.
    const length = Math.max(Array.from(p.answer).length, Array.from(p.trap ?? '').length) + 1;
    const output = await greedyLine(model, tokenizer, p.prompt, length);
    items.push({
      prompt: p.prompt,
      answer: p.answer,
      output,
      correct: output === p.answer,
      ...(p.trap !== undefined ? { trapped: output === p.trap } : {}),
      answerNats: await answerNats(model, tokenizer, p),
      kind: p.kind,
    });
  }
  const kinds = [...new Set(items.map((i) => i.kind).filter((k): k is string => k !== undefined))];
  const byKind = kinds.length ? Object.fromEntries(kinds.map((k) => [k, summarise(items.filter((i) => i.kind === k))])) : undefined;
  return { ...summarise(items), ...(byKind ? { byKind } : {}), items };
}
