/** The Scaling lab's emergence chart as data: which points it draws, and the sentence that contrasts loss with the probe. */
import { describe, expect, test } from 'vitest';
import { emergenceDatasets, emergenceReading, finalPoints, keptDatasets, scoreFraction } from '../../src/lib/emergence-chart.ts';
import type { SweepPoint } from '../../src/core/sweep.ts';

const chance = Math.log(26);
/** Two evaluations per model; the probe jumps between the second and third model while the loss falls a little each time. */
const points: SweepPoint[] = [
  { model: 0, N: 1000, params: 1200, D: 1000, step: 10, loss: 2.5, probe: { score: 0.05, chance } },
  { model: 0, N: 1000, params: 1200, D: 2000, step: 20, loss: 2.4, probe: { score: 0.1, chance } },
  { model: 1, N: 4000, params: 4400, D: 1000, step: 10, loss: 2.3, probe: { score: 0.1, chance } },
  { model: 1, N: 4000, params: 4400, D: 2000, step: 20, loss: 2.2, probe: { score: 0.2, chance } },
  { model: 2, N: 16000, params: 16800, D: 1000, step: 10, loss: 2.1, probe: { score: 0.5, chance } },
  { model: 2, N: 16000, params: 16800, D: 2000, step: 20, loss: 2.0, probe: { score: 2.9, chance } },
];

describe('the emergence chart', () => {
  test('against N it draws each model’s last point: its loss and its probe score over chance', () => {
    expect(finalPoints([...points].reverse()).map((p) => p.step)).toEqual([20, 20, 20]);
    const [loss, score] = emergenceDatasets(points, 'N');
    expect(loss.yAxisID).toBe('loss');
    expect(loss.data).toEqual([
      { x: 1000, y: 2.4 },
      { x: 4000, y: 2.2 },
      { x: 16000, y: 2.0 },
    ]);
    expect(score.yAxisID).toBe('score');
    expect(score.data.map((p) => p.y)).toEqual([0.1 / chance, 0.2 / chance, 2.9 / chance]);
  });

  test('against tokens it draws every point, a loss and a probe line per model', () => {
    const sets = emergenceDatasets(points, 'D');
    expect(sets.map((s) => s.label)).toEqual(['N 1k: loss', 'N 1k: probe', 'N 4k: loss', 'N 4k: probe', 'N 16k: loss', 'N 16k: probe']);
    expect(sets[5].data).toEqual([
      { x: 1000, y: 0.5 / chance },
      { x: 2000, y: 2.9 / chance },
    ]);
    expect(sets[0].borderColor).toBe(sets[1].borderColor);
    expect(sets[0].borderColor).not.toBe(sets[2].borderColor);
  });

  test('points without a probe (a context too short for two copies, an older sweep) are left out', () => {
    const old = points.map(({ probe: _, ...p }) => p);
    expect(emergenceDatasets(old, 'N').every((d) => d.data.length === 0)).toBe(true);
    expect(emergenceDatasets(old, 'D')).toEqual([]);
    expect(emergenceReading(old)).toBeNull();
  });

  test('the reading names the neighbouring sizes where the probe changed most, and how little the loss did', () => {
    expect(emergenceReading(points)).toBe(
      `From N = 4k to 16k the loss fell 9% (2.200 → 2.000) while the probe score went from ${Math.round((100 * 0.2) / chance)}% to ${Math.round(
        (100 * 2.9) / chance,
      )}% of chance.`,
    );
    expect(emergenceReading(points.filter((p) => p.model === 0))).toBeNull();
    expect(scoreFraction({ score: chance, chance })).toBe(1);
  });

  /** The same points with a task scored: exact match jumps at the largest model while the answer nats fall evenly. */
  const tasked: SweepPoint[] = points.map((p, i) => ({
    ...p,
    task: { n: 50, exactMatch: p.model === 2 && p.step === 20 ? 0.8 : 0, charAccuracy: 0.5, answerNats: 6 - i * 0.5 },
  }));

  test("a task's exact match and answer nats are scores too, against N, compute or the loss itself", () => {
    const [, exact] = emergenceDatasets(tasked, 'N', 'exact');
    expect(exact.data.map((p) => p.y)).toEqual([0, 0, 0.8]);
    expect(exact.label).toBe('task exact match (right)');
    const [, nats] = emergenceDatasets(tasked, 'N', 'nats');
    expect(nats.data.map((p) => p.y)).toEqual([5.5, 4.5, 3.5]);
    // Against compute: x = 6·N·D for every point.
    expect(emergenceDatasets(tasked, 'C', 'nats')[1].data).toEqual([
      { x: 6 * 1000 * 1000, y: 6 },
      { x: 6 * 1000 * 2000, y: 5.5 },
    ]);
    // Against the loss: one score line per model, x the loss, in order of the loss.
    const byLoss = emergenceDatasets(tasked, 'L', 'exact');
    expect(byLoss.map((d) => d.yAxisID)).toEqual(['score', 'score', 'score']);
    expect(byLoss[2].data).toEqual([
      { x: 2.0, y: 0.8 },
      { x: 2.1, y: 0 },
    ]);
    expect(emergenceReading(tasked, 'exact')).toBe(
      "From N = 4k to 16k the loss fell 9% (2.200 → 2.000) while the task's exact match went from 0% to 80%.",
    );
    expect(emergenceReading(tasked, 'nats')).toMatch(/the task's answer went from 5\.50 to 4\.50 nats/);
    expect(emergenceDatasets(points, 'N', 'exact').every((d) => d.data.length === 0)).toBe(true); // no task, nothing to draw
  });

  test('a sweep kept for comparison is drawn beside the current one, dotted and named', () => {
    const kept = keptDatasets({ label: 'arith:scratchpad=1 · 1x8,1x16', points: tasked }, 'N', 'exact');
    const own = emergenceDatasets(tasked, 'N', 'exact');
    expect(kept.map((d) => d.data)).toEqual(own.map((d) => d.data));
    expect(kept[1].label).toBe('kept arith:scratchpad=1 · 1x8,1x16: task exact match (right)');
    expect(kept.every((d) => Array.isArray(d.borderDash) && d.borderDash.length === 2)).toBe(true);
    expect(keptDatasets(null, 'N', 'exact')).toEqual([]);
  });
});
