import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { chooseProblems, generateTask, type Problem } from '../../src/core/tasks.ts';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { generate, score } from '../../workers/sample.ts';
import { evaluateTask } from '../../workers/task-eval.ts';
import { createRun, prepareRun, type Run } from '../../workers/run.ts';
import { train } from '../../workers/train.ts';
import { defaultTrainConfig } from '../../src/core/config.ts';

const task = generateTask('arith:digits=2,lines=2000,heldout=40');
const tok = CharTokenizer.fromText(task.text);
let untrained: GPT;
let trained: Run; // a few hundred steps: it ends its lines, so greedy lines stop at a newline
let model: GPT;

beforeAll(async () => {
  await tf.setBackend('cpu');
  untrained = new GPT({ vocabSize: tok.size, blockSize: 24, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, 3);
  const shape = { nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 24, dropout: 0 };
  trained = createRun(
    prepareRun(task.text, shape, {
      ...defaultTrainConfig,
      batchSize: 8,
      maxSteps: 150,
      warmupSteps: 10,
      evalEvery: 0,
      learningRate: 1e-2,
      minLr: 1e-3,
    }),
  );
  await train(trained.trainer);
  model = trained.model;
}, 120_000);

/** The greedy continuation as `sample --temperature 0` writes it: `length` characters. */
async function greedyRaw(prompt: string, length: number): Promise<string> {
  let s = '';
  for await (const c of generate(model, tok, prompt, { length, temperature: 0, seed: 9 })) s += c;
  return s;
}

/** That continuation cut at its first newline. */
const greedy = async (prompt: string, length: number) => (await greedyRaw(prompt, length)).split('\n')[0];

describe('task evaluation', () => {
  test('answer nats is the chain rule: log p(prompt + answer) − log p(prompt), from the same forward passes score makes', async () => {
    const problems = chooseProblems(task.problems, 6, 1);
    const { items } = await evaluateTask(model, tok, problems);
    for (const [i, p] of problems.entries()) {
      const whole = await score(model, tok, p.prompt + p.answer);
      const prompt = await score(model, tok, p.prompt);
      expect(items[i].answerNats).toBeCloseTo(-(whole.logProb - prompt.logProb), 5);
      expect(items[i].answerNats).toBeGreaterThan(0);
    }
  });

  test("exact match is the greedy line compared with the answer: an answer that is the model's own greedy line, newline and all, is matched", async () => {
    const problems = chooseProblems(task.problems, 12, 2);
    // Answers of three kinds: the model's own greedy line; the first character of a line the model
    // goes on writing (a proper prefix of what it writes: not a match); the sum and a '+' (never written).
    const mixed: Problem[] = [];
    let prefixes = 0;
    for (const [i, p] of problems.entries()) {
      const raw = await greedyRaw(p.prompt, 4);
      const line = raw.split('\n')[0];
      const goesOn = raw[0] !== '\n' && raw[1] !== '\n';
      let answer = `${p.answer}+`;
      if (goesOn && i % 2 === 0) {
        answer = raw[0];
        prefixes++;
      } else if (line && i % 3 !== 2) answer = line;
      mixed.push({ ...p, answer });
    }
    expect(prefixes).toBeGreaterThan(0); // not vacuous
    const r = await evaluateTask(model, tok, mixed);
    for (const [i, it] of r.items.entries()) expect(it.output).toBe(await greedy(mixed[i].prompt, Array.from(mixed[i].answer).length + 1));
    // Matched: an answer that is the greedy line, which ends with a newline within the answer's length + 1.
    const matched = [];
    for (const p of mixed) if ((await greedyRaw(p.prompt, Array.from(p.answer).length + 1)) === `${p.answer}\n`) matched.push(p);
    expect(matched.length).toBeGreaterThan(0); // not vacuous: the trained model ends its lines
    expect(r.exactMatch).toBe(matched.length / mixed.length);
    expect(r.items.filter((i) => i.correct).length).toBe(matched.length);
  });

  test('per-character accuracy counts the answer characters the greedy line has in place', async () => {
    const [p] = chooseProblems(task.problems, 1, 3);
    const o = await greedy(p.prompt, 3); // what the model writes for any two-character answer
    const answer = `${o[0] ?? '0'}${o[1] === '1' ? '2' : '1'}`; // its first character where the model puts it, its second not
    const r = await evaluateTask(model, tok, [{ ...p, answer }]);
    expect(r.items[0].output).toBe(o);
    expect(r.charAccuracy).toBe(o.length > 0 ? 0.5 : 0);
    expect(r.exactMatch).toBe(0);
  });

  test('an untrained model gets next to no sums right; a problem with a character outside the vocabulary is refused by name', async () => {
    const r = await evaluateTask(untrained, tok, chooseProblems(task.problems, 30, 4));
    expect(r.n).toBe(30);
    expect(r.exactMatch).toBe(0);
    expect(r.answerNats).toBeGreaterThan(4); // about ln(vocabulary) a character
    await expect(evaluateTask(untrained, tok, [{ prompt: '1*2=', answer: '2' }])).rejects.toThrow(/lacks \("\*"\)/);
  });
});

test('where problems have a trap, the trap rate is the share of greedy lines that are it, never counted as right', async () => {
  const problems = chooseProblems(task.problems, 8, 5);
  const trapped: Problem[] = [];
  for (const [i, p] of problems.entries()) {
    const raw = await greedyRaw(p.prompt, 4);
    const line = raw.split('\n')[0];
    // Half the traps are what the model writes, ended by its newline; the rest a line it never writes.
    trapped.push({ ...p, answer: `${p.answer}+`, trap: i % 2 === 0 && raw.startsWith(`${line}\n`) && line ? line : '++' });
  }
  const r = await evaluateTask(model, tok, trapped);
  const expected = trapped.filter((p, i) => r.items[i].output === p.trap).length / trapped.length;
  expect(trapped.some((p) => p.trap !== '++')).toBe(true); // not vacuous
  expect(r.trapRate).toBe(expected);
  expect(r.trapRate).toBeGreaterThan(0);
  expect(r.exactMatch).toBe(0);
  const plain = await evaluateTask(model, tok, problems);
  expect(plain.trapRate).toBeUndefined(); // no traps, no rate
});
