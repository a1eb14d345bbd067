/**
 * The page's link to a worker: requests answered by id, a crash or a close that fails every open
 * request with its reason, and pings answered without reaching the owner.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { WorkerLink } from '../../../src/lib/worker-link.ts';
import type { Answers, FromWorker, ToWorker } from '../../../workers/protocol.ts';

class StubWorker {
  static all: StubWorker[] = [];
  posted: ToWorker[] = [];
  terminated = false;
  onmessage: ((e: { data: FromWorker }) => void) | null = null;
  onerror: ((e: { message: string; preventDefault: () => void }) => void) | null = null;
  constructor() {
    StubWorker.all.push(this);
  }
  postMessage(msg: ToWorker) {
    this.posted.push(msg);
  }
  terminate() {
    this.terminated = true;
  }
}

beforeEach(() => {
  StubWorker.all = [];
  vi.stubGlobal('Worker', StubWorker);
});
afterEach(() => vi.unstubAllGlobals());

function open() {
  const events: FromWorker[] = [];
  const crashes: string[] = [];
  const link = new WorkerLink<FromWorker, ToWorker, Answers, string>(
    'wasm',
    { onEvent: (m) => events.push(m), onCrash: (m) => crashes.push(m) },
    { name: 'test worker' },
  );
  return { link, worker: StubWorker.all.at(-1)!, events, crashes };
}

test('starts the worker on the backend asked for', () => {
  const { worker } = open();
  expect(worker.posted).toEqual([{ type: 'init', backend: 'wasm' }]);
});

test('a request gets a fresh id, keeps its context while open, and settles with its answer or error', async () => {
  const { link, worker } = open();
  const a = link.request((id) => ({ type: 'probs', id, prompt: 'ab' }), 'first');
  const b = link.request((id) => ({ type: 'probs', id, prompt: 'cd' }), 'second');
  expect(a.id).not.toBe(b.id);
  expect(worker.posted.slice(1)).toEqual([
    { type: 'probs', id: a.id, prompt: 'ab' },
    { type: 'probs', id: b.id, prompt: 'cd' },
  ]);
  expect(link.context(b.id)).toBe('second');
  expect(link.settle(b.id, 'probs', { error: 'no model' })).toBe(true);
  expect(link.settle(a.id, 'score', { value: { text: 'ab', nats: [], total: 0 } as never })).toBe(false); // an answer of another kind
  expect(link.settle(a.id, 'probs', { value: [0.5, 0.5] })).toBe(true);
  await expect(a.answer).resolves.toEqual([0.5, 0.5]);
  await expect(b.answer).rejects.toThrow('no model');
  expect(link.context(a.id)).toBeUndefined();
  expect(link.settle(a.id, 'probs', { value: [] })).toBe(false); // answered once only
});

test('closing ends the worker and fails every open request, and later ones, with the reason', async () => {
  const { link, worker } = open();
  const a = link.request((id) => ({ type: 'save', id }));
  link.close('the backend changed');
  const sent = worker.posted.length;
  expect(worker.terminated).toBe(true);
  await expect(a.answer).rejects.toThrow('the backend changed');
  await expect(link.request((id) => ({ type: 'save', id })).answer).rejects.toThrow('the backend changed');
  link.post({ type: 'pause' });
  link.ping();
  expect(worker.posted).toHaveLength(sent); // nothing more was sent
});

test('a crash closes the link, fails open requests with its message and tells the owner once', async () => {
  const { link, worker, crashes } = open();
  const a = link.request((id) => ({ type: 'score', id, text: 'x' }));
  const prevented = vi.fn();
  worker.onerror!({ message: 'boom', preventDefault: prevented });
  expect(prevented).toHaveBeenCalled();
  expect(crashes).toEqual(['the test worker failed: boom']);
  await expect(a.answer).rejects.toThrow('the test worker failed: boom');
  expect(worker.terminated).toBe(true);
  worker.onerror!({ message: '', preventDefault: () => {} });
  expect(crashes[1]).toMatch(/could not be loaded/);
});

test('pings go out with ids and their pongs are answered by the link, not passed on', () => {
  const { link, worker, events } = open();
  link.ping();
  const ping = worker.posted.at(-1)!;
  expect(ping.type).toBe('ping');
  expect(link.heartbeat.check(Date.now() + 10 * 60_000, false)).toBe('unresponsive');
  worker.onmessage!({ data: { type: 'pong', id: (ping as { id: number }).id } });
  expect(link.heartbeat.check(Date.now() + 10 * 60_000, false)).toBe('ok');
  worker.onmessage!({ data: { type: 'reset' } });
  expect(events).toEqual([{ type: 'reset' }]);
});
