import { expect, test } from 'vitest';
import type { JobLine } from '../../src/cli/model-job.ts';
import { ModelLines } from '../../src/cli/model-lines.ts';

const shape = { nLayer: 1, nHead: 1, nEmbd: 8 };
const model = (index: number): JobLine => ({ type: 'model', index, shape, N: 100, steps: 4 });
const point = (index: number, step: number): JobLine => ({
  type: 'point',
  index,
  point: { model: index, N: 100, params: 200, D: step * 10, step, loss: 3 - step / 10 },
});
const name = (l: JobLine) => (l.type === 'point' ? `${l.index}@${l.point.step}` : `${l.index}`);

test("lines print as --jobs 1 prints them: model by model, each model's points by step, whenever each job sends them", async () => {
  const printed: string[] = [];
  const lines = new ModelLines(3, (l) => printed.push(name(l)));
  let ended = false;
  void lines.ended.then(() => (ended = true));
  // Model 2 (the longest) and model 1 train first, on two jobs; model 0 last.
  lines.line(model(2));
  lines.line(model(1));
  for (const step of [2, 4]) lines.pause(2, step);
  lines.pause(1, 2);
  lines.pause(1, 4);
  lines.trained(1);
  // A model's later point measured before its earlier one (two jobs measuring at once).
  lines.line(point(2, 4));
  lines.line(point(1, 4));
  lines.line(point(2, 2));
  expect(printed).toEqual([]); // model 0 has not begun: nothing may print
  lines.line(model(0));
  lines.pause(0, 2);
  expect(printed).toEqual(['0']);
  lines.line(point(0, 2));
  lines.pause(0, 4);
  lines.trained(0);
  lines.line(point(0, 4));
  // Model 0 ended: model 1's lines so far come out, and wait there for its point at step 2.
  expect(printed).toEqual(['0', '0@2', '0@4', '1']);
  lines.trained(2);
  await Promise.resolve();
  expect(ended).toBe(false);
  lines.line(point(1, 2));
  expect(printed).toEqual(['0', '0@2', '0@4', '1', '1@2', '1@4', '2', '2@2', '2@4']);
  await lines.ended;
});

test('the pool ends only when every model has trained and each of its points is in', async () => {
  const printed: string[] = [];
  const lines = new ModelLines(1, (l) => printed.push(name(l)));
  let ended = false;
  void lines.ended.then(() => (ended = true));
  lines.line(model(0));
  lines.pause(0, 2);
  lines.trained(0);
  await Promise.resolve();
  expect(ended).toBe(false); // trained, but its point is still being measured
  lines.line(point(0, 2));
  await lines.ended;
  expect(printed).toEqual(['0', '0@2']);
});

test('no models: ended at once; a point no pause announced, or a pause after training, is an error', async () => {
  await new ModelLines(0, () => {}).ended;
  const lines = new ModelLines(1, () => {});
  lines.line(model(0));
  expect(() => lines.line(point(0, 3))).toThrow(/no point to come at step 3/);
  lines.trained(0);
  expect(() => lines.pause(0, 4)).toThrow(/model 0 has trained/);
});
