/** The page's Inside state against a scripted worker link: one request at a time, merged requests, answers of a cleared run dropped. */
import { describe, expect, test } from 'vitest';
import { Inside, type Inspection } from '../../../src/lib/inside.svelte.ts';
import type { ToWorker } from '../../../workers/protocol.ts';

/** A link whose answers the test gives by hand, in order. */
function scripted() {
  const sent: Extract<ToWorker, { type: 'inspect' }>[] = [];
  const open: { resolve: (v: Inspection) => void; reject: (e: Error) => void }[] = [];
  const link = (make: (id: number) => Extract<ToWorker, { type: 'inspect' }>) => {
    sent.push(make(sent.length + 1));
    return { answer: new Promise<Inspection>((resolve, reject) => open.push({ resolve, reject })) };
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return { sent, open, link, tick };
}

function inspection(step: number, probe: { first: number; second: number } | null): Inspection {
  return {
    step,
    chars: ['a', 'b'],
    maps: { ids: [0, 1], nLayer: 1, nHead: 1, weights: Float32Array.of(1, 0, 0.5, 0.5), surprisal: [1] },
    positions: [2, 1],
    probe: probe && { length: 8, trials: 8, ...probe, score: probe.first - probe.second, chance: Math.log(16), induction: [0.4] },
    embedding: null,
  };
}

describe('Inside', () => {
  test('asks once at a time; what is asked meanwhile goes next, merged, with the text typed by then', async () => {
    const w = scripted();
    const inside = new Inside(w.link);
    inside.refresh(); // the maps alone
    inside.evaluated(); // everything, while the first is in flight
    inside.refresh();
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0].request).toEqual({ text: null, positions: false, probe: false, embedding: false });
    inside.text = 'abc';
    w.open[0].resolve(inspection(10, null));
    await w.tick();
    expect(w.sent).toHaveLength(2);
    expect(w.sent[1].request).toEqual({ text: 'abc', positions: true, probe: true, embedding: true });
    w.open[1].resolve(inspection(20, { first: 2.7, second: 1 }));
    await w.tick();
    expect(inside.asking).toBe(false);
    expect(inside.latest?.step).toBe(20);
    expect(inside.positions).toEqual({ step: 20, loss: [2, 1] });
    expect(inside.probes).toEqual([{ step: 20, first: 2.7, second: 1, chance: Math.log(16) }]);
    expect(inside.induction).toEqual([0.4]);
    expect(inside.phaseChange).toBe(20);
  });

  test('a probe at the same step replaces the one before; a failure is shown and the next answer clears it', async () => {
    const w = scripted();
    const inside = new Inside(w.link);
    inside.evaluated();
    w.open[0].resolve(inspection(0, { first: 2.7, second: 2.7 }));
    await w.tick();
    inside.evaluated();
    w.open[1].reject(new Error('no model'));
    await w.tick();
    expect(inside.error).toBe('no model');
    inside.evaluated();
    w.open[2].resolve(inspection(0, { first: 2.6, second: 2.5 }));
    await w.tick();
    expect(inside.error).toBeNull();
    expect(inside.probes).toEqual([{ step: 0, first: 2.6, second: 2.5, chance: Math.log(16) }]);
    expect(inside.phaseChange).toBeNull();
  });

  test('clear forgets the run, and an answer about it that comes later is dropped', async () => {
    const w = scripted();
    const inside = new Inside(w.link);
    inside.evaluated();
    inside.clear();
    w.open[0].resolve(inspection(5, { first: 2.7, second: 0.5 }));
    await w.tick();
    expect(inside.latest).toBeNull();
    expect(inside.probes).toEqual([]);
  });
});
