/**
 * The page's side of faults: RunState against scripted workers. Each test plays the worker's
 * part through its messages (a lost device, a crash, silence, a divergence, a backend that does
 * not come back) and checks what the page does: which worker it ends, what it asks the new one,
 * from which checkpoint, and what it tells the user. The worker's own side of a lost device is
 * tested on a real (software) GPU in tests/gpu/device-lost.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { defaultModelConfig, defaultTrainConfig } from '../../../src/core/config.ts';
import { watchUnload, watchVisibility } from '../../../src/lib/page-lifecycle.ts';
import { RunState } from '../../../src/lib/run.svelte.ts';
import { RunStore } from '../../../src/lib/run-store.ts';
import type { FromWorker, RunInfo, ToWorker } from '../../../workers/protocol.ts';
import { failingIndexedDB } from '../failing-indexeddb.ts';
import { capacityOf } from '../../../src/core/footprint.ts';

/** A stand-in for the browser's Worker: records what the page posts, and lets the test answer. */
class ScriptedWorker {
  static all: ScriptedWorker[] = [];
  posted: ToWorker[] = [];
  terminated = false;
  onmessage: ((e: { data: FromWorker }) => void) | null = null;
  onerror: ((e: { message: string; preventDefault: () => void }) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  constructor() {
    ScriptedWorker.all.push(this);
  }
  postMessage(msg: ToWorker) {
    this.posted.push(msg);
  }
  terminate() {
    this.terminated = true;
  }
  emit(msg: FromWorker) {
    if (!this.terminated) this.onmessage?.({ data: msg });
  }
  last<T extends ToWorker['type']>(type: T): Extract<ToWorker, { type: T }> | undefined {
    return this.posted.filter((m): m is Extract<ToWorker, { type: T }> => m.type === type).at(-1);
  }
}

const latest = () => ScriptedWorker.all.at(-1)!;
/** Waits until `ready()` holds: the page's promise chains (an autosave, a restart) have got that far. */
const until = (ready: () => unknown, what: string) =>
  vi.waitFor(
    () => {
      if (!ready()) throw new Error(`still waiting for ${what}`);
    },
    { timeout: 10_000, interval: 1 },
  );

/**
 * For a check that nothing happens (no restart, no second save): gives the page's promise chains
 * their turns first. Only negatives use it; everything else waits for what it expects.
 */
const nothingMoreAfterTurns = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 1));
};

/** The ids of saves already answered, per worker: an autosave asked for is one not among them. */
const answered = new WeakMap<ScriptedWorker, Set<number>>();

const corpus = { name: 'tiny', text: 'hello world, '.repeat(40) };
const train = { ...defaultTrainConfig, maxSteps: 1000 };

function info(): RunInfo {
  return {
    corpus: corpus.name,
    vocabSize: 10,
    params: 1000,
    nonEmbeddingParams: 900,
    trainChars: 400,
    valChars: 80,
    vocab: [...'helo wrd,'],
    blockSize: 64,
    tokensPerStep: 1024,
    flopsPerStep: 1e6,
    sampling: 'random',
    maxSteps: 1000,
    nLayer: 2,
    nEmbd: 64,
    references: [],
    config: { model: { ...defaultModelConfig, vocabSize: 10 }, train },
  };
}

/** Answers the latest start or load the page sent with its run. */
function announce(w: ScriptedWorker, step: number, losses: number[] = []) {
  const asked = [...w.posted].reverse().find((m) => m.type === 'start' || m.type === 'load');
  if (asked?.type !== 'start' && asked?.type !== 'load') throw new Error('the page asked for no run');
  w.emit({ type: 'run', id: asked.id, step, history: { losses, evals: [] }, ...info() });
}

function steps(w: ScriptedWorker, from: number, to: number) {
  for (let s = from; s <= to; s++) w.emit({ type: 'step', step: s, loss: 2, lr: 1e-3, ms: 20, starts: [0], epoch: 0 });
}

/** Answers the autosave the page asks for after `step`, with recognisable bytes. */
async function answerSave(w: ScriptedWorker, step: number, run?: RunState): Promise<Uint8Array> {
  const done = answered.get(w) ?? new Set<number>();
  answered.set(w, done);
  await until(() => w.last('save') && !done.has(w.last('save')!.id), `an autosave at step ${step}`);
  const save = w.last('save')!;
  done.add(save.id);
  const bytes = new Uint8Array([step % 256, 7, 7]);
  w.emit({ type: 'saved', id: save.id, bytes, step, valLoss: 2.1, valStep: step, ms: 1 });
  if (run)
    await until(() => run.checkpoints.lastAutosave?.step === step || run.checkpoints.storeError, `the autosave at step ${step} kept`);
  return bytes;
}

/** A run on webgpu, trained to step 212 with an autosave at step 200. */
async function trainedRun(): Promise<{ run: RunState; bytes: Uint8Array }> {
  const run = new RunState('auto');
  latest().emit({ type: 'ready', backend: 'webgpu', adapter: 'test adapter', skipped: [], capacity: capacityOf('webgpu', null) });
  void run.start(corpus, defaultModelConfig, train, 'bundled');
  announce(latest(), 0);
  steps(latest(), 1, 200);
  const bytes = await answerSave(latest(), 200, run);
  steps(latest(), 201, 212);
  return { run, bytes };
}

/** Plays a fresh worker through a resume from the checkpoint at `step`. */
async function answerResume(run: RunState, w: ScriptedWorker, step: number, backend: 'webgpu' | 'wasm') {
  w.emit({ type: 'ready', backend, adapter: 'test adapter', skipped: [], capacity: capacityOf(backend, null) });
  await until(() => w.last('load'), 'the new worker asked to load the checkpoint');
  const load = w.last('load')!;
  announce(w, step, Array(step).fill(2));
  w.emit({ type: 'paused', step });
  await until(() => !run.recovery.recovering, 'the restart to end');
  return load;
}

beforeEach(() => {
  ScriptedWorker.all = [];
  vi.stubGlobal('Worker', ScriptedWorker);
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('a lost GPU device', () => {
  test('restarts the run by itself in a fresh worker on WebGPU, from the last checkpoint, and trains on', async () => {
    const { run, bytes } = await trainedRun();
    const first = latest();
    first.emit({ type: 'error', during: 'train', message: 'the GPU device was lost: gone', fault: 'device', step: 212 });
    await until(() => latest() !== first, 'a fresh worker');
    expect(first.terminated).toBe(true);
    const second = latest();
    expect(second).not.toBe(first);
    expect(second.posted[0]).toEqual({ type: 'init', backend: 'webgpu' }); // not 'auto': no silent fallback
    expect(run.recovery.recovering).toBe(true);

    const load = await answerResume(run, second, 200, 'webgpu');
    expect(load.mode).toBe('resume');
    expect(Array.from(load.bytes)).toEqual(Array.from(bytes));
    expect(second.last('resume')).toBeDefined();
    expect(run.status).toBe('training');
    expect(run.recovery.fault).toBeNull();
    expect(run.error).toBeNull();
    expect(run.recovery.note).toMatch(
      /GPU device failed at step 212.*restarted on webgpu from the checkpoint at step 200 \(12 steps lost\)/,
    );
    // The same run goes on: its curve is replaced, not joined by a second one.
    expect(run.runs).toHaveLength(1);
    expect(run.checkpoints.restartStep).toBe(200);
    run.dispose();
  });

  test('when WebGPU cannot come back, says so and continues on wasm when asked', async () => {
    const { run } = await trainedRun();
    const lost = latest();
    latest().emit({ type: 'error', during: 'train', message: 'the GPU device was lost', fault: 'device', step: 212 });
    await until(() => latest() !== lost, 'a fresh worker');
    latest().emit({ type: 'error', during: 'init', message: 'webgpu failed: no adapter' });
    await until(() => run.status === 'error', 'the run to say it cannot restart');
    expect(run.status).toBe('error');
    expect(run.recovery.fault?.kind).toBe('backend');
    expect(run.error).toMatch(/webgpu could not start again: .*no adapter/);

    const restarting = run.recovery.restart('wasm');
    const wasm = latest();
    expect(wasm.posted[0]).toEqual({ type: 'init', backend: 'wasm' });
    await answerResume(run, wasm, 200, 'wasm');
    await restarting;
    expect(run.status).toBe('training');
    expect(run.backendChoice).toBe('wasm');
    expect(run.backend?.name).toBe('wasm');
    expect(run.recovery.note).toMatch(/restarted on wasm from the checkpoint at step 200/);
    run.dispose();
  });

  test('does not restart by itself when the user turned that off, or after repeated faults', async () => {
    const { run } = await trainedRun();
    run.recovery.autoRestart = false;
    const w = latest();
    w.emit({ type: 'error', during: 'train', message: 'lost', fault: 'device', step: 212 });
    await until(() => run.recovery.fault?.kind === 'device', 'the fault shown');
    await nothingMoreAfterTurns();
    expect(latest()).toBe(w);
    expect(run.recovery.fault?.kind).toBe('device');
    expect(run.checkpoints.restartStep).toBe(200); // what the Restart button offers

    run.recovery.autoRestart = true;
    for (let i = 0; i < 3; i++) {
      const faulty = latest();
      faulty.emit({ type: 'error', during: 'train', message: 'lost', fault: 'device', step: 212 });
      await until(() => latest() !== faulty, 'a fresh worker');
      await answerResume(run, latest(), 200, 'webgpu');
    }
    const count = ScriptedWorker.all.length;
    latest().emit({ type: 'error', during: 'train', message: 'lost', fault: 'device', step: 205 });
    await until(() => run.recovery.fault?.kind === 'device', 'the fault shown');
    await nothingMoreAfterTurns();
    expect(ScriptedWorker.all.length).toBe(count); // a fourth fault in a row waits for the user
    expect(run.recovery.fault?.kind).toBe('device');
    run.dispose();
  });

  test('with storage full, the run keeps training and still restarts from its last checkpoint, kept in memory', async () => {
    vi.stubGlobal('indexedDB', failingIndexedDB(new DOMException('quota', 'QuotaExceededError')));
    const { run, bytes } = await trainedRun();
    expect(run.checkpoints.storeError).toMatch(/^storage is full: .* at step 200 was not saved; the run keeps training/);
    expect(run.status).toBe('training');
    expect(run.checkpoints.restartStep).toBe(200);
    const full = latest();
    full.emit({ type: 'error', during: 'train', message: 'lost', fault: 'device', step: 212 });
    await until(() => latest() !== full, 'a fresh worker');
    const load = await answerResume(run, latest(), 200, 'webgpu');
    expect(Array.from(load.bytes)).toEqual(Array.from(bytes));
    expect(run.status).toBe('training');
    run.dispose();
  });

  test('with no checkpoint yet, the run starts over with the same settings', async () => {
    const run = new RunState('auto');
    latest().emit({ type: 'ready', backend: 'webgpu', adapter: 'a', skipped: [], capacity: capacityOf('webgpu', null) });
    void run.start(corpus, defaultModelConfig, train, 'bundled');
    announce(latest(), 0);
    steps(latest(), 1, 30);
    const early = latest();
    early.emit({ type: 'error', during: 'train', message: 'lost', fault: 'device', step: 30 });
    await until(() => latest() !== early, 'a fresh worker');
    latest().emit({ type: 'ready', backend: 'webgpu', adapter: 'a', skipped: [], capacity: capacityOf('webgpu', null) });
    await until(() => latest().last('start'), 'the run started again');
    const start = latest().last('start');
    expect(start?.train).toEqual(train);
    expect(start?.corpus.text).toBe(corpus.text);
    expect(run.recovery.note).toMatch(/no checkpoint was kept yet, so the run started over/);
    run.dispose();
  });
});

describe('a worker that crashes or goes silent', () => {
  test('a crash is reported and Restart resumes from the last checkpoint in a new worker', async () => {
    const { run, bytes } = await trainedRun();
    const w = latest();
    w.onerror!({ message: 'Uncaught RangeError: boom', preventDefault() {} });
    expect(run.status).toBe('error');
    expect(run.recovery.fault?.kind).toBe('crash');
    expect(run.error).toMatch(/boom/);
    expect(w.terminated).toBe(true);
    const restarting = run.recovery.restart();
    const load = await answerResume(run, latest(), 200, 'webgpu');
    await restarting;
    expect(Array.from(load.bytes)).toEqual(Array.from(bytes));
    expect(run.status).toBe('training');
    run.dispose();
  });

  test('unanswered pings make the worker unresponsive; an answer clears it', async () => {
    const { run } = await trainedRun();
    const w = latest();
    expect(run.recovery.fault).toBeNull();
    vi.advanceTimersByTime(20_000);
    expect(w.last('ping')).toBeDefined();
    expect(run.recovery.fault).toBeNull(); // not yet: a first step may compile shaders for a while
    vi.advanceTimersByTime(20_000);
    expect(run.recovery.fault?.kind).toBe('unresponsive');
    expect(run.recovery.fault?.message).toMatch(/has not answered for \d+ s/);
    w.emit({ type: 'pong', id: w.last('ping')!.id });
    steps(w, 213, 214);
    vi.advanceTimersByTime(5_000);
    expect(run.recovery.fault).toBeNull();
    run.dispose();
  });

  test('answered pings without steps while training make the run stalled', async () => {
    const { run } = await trainedRun();
    const w = latest();
    for (let t = 0; t < 100_000; t += 5_000) {
      vi.advanceTimersByTime(5_000);
      w.emit({ type: 'pong', id: w.last('ping')!.id });
    }
    expect(run.recovery.fault?.kind).toBe('stalled');
    expect(run.recovery.fault?.message).toMatch(/no training step for \d+ s \(the last was step 212\)/);
    run.recovery.keepWaiting();
    expect(run.recovery.fault).toBeNull();
    run.dispose();
  });

  test('a paused run is not stalled, however long it waits', async () => {
    const { run } = await trainedRun();
    const w = latest();
    void run.pause();
    w.emit({ type: 'paused', step: 212 });
    await until(() => run.status === 'paused', 'the pause');
    for (let t = 0; t < 300_000; t += 5_000) {
      vi.advanceTimersByTime(5_000);
      w.emit({ type: 'pong', id: w.last('ping')!.id });
    }
    expect(run.recovery.fault).toBeNull();
    run.dispose();
  });
});

describe('Stop and Reset', () => {
  /** Fakes timeouts too, from here on: trainedRun's settle needs real ones. */
  const fakeTimeouts = () => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });

  test('a Stop the worker does not take within 2 s ends it; a fresh worker takes the last checkpoint back, paused', async () => {
    const { run, bytes } = await trainedRun();
    const stuck = latest();
    fakeTimeouts();
    run.stop();
    expect(stuck.last('stop')).toBeDefined();
    vi.advanceTimersByTime(1_900);
    expect(stuck.terminated).toBe(false);
    vi.advanceTimersByTime(200);
    expect(stuck.terminated).toBe(true);
    const fresh = latest();
    expect(fresh).not.toBe(stuck); // started at once, not on the next Train
    expect(fresh.last('init')).toBeDefined();
    expect(run.status).toBe('error');
    expect(run.recovery.fault?.kind).toBe('unstoppable');
    expect(run.error).toMatch(/did not take the stop within 2 s/);
    vi.useRealTimers();
    const restarting = run.recovery.restart();
    const load = await answerResume(run, latest(), 200, 'webgpu');
    await restarting;
    expect(Array.from(load.bytes)).toEqual(Array.from(bytes));
    expect(latest().last('resume')).toBeUndefined(); // it was asked to stop: it stays paused
    expect(run.status).toBe('paused');
    run.dispose();
  });

  test('a Stop the loop takes in time is waited for, however long its final evaluation', async () => {
    const { run } = await trainedRun();
    const w = latest();
    fakeTimeouts();
    run.stop();
    vi.advanceTimersByTime(500);
    w.emit({ type: 'halting', step: 212 });
    vi.advanceTimersByTime(30_000);
    expect(w.terminated).toBe(false);
    expect(run.recovery.fault).toBeNull();
    run.dispose();
  });

  test('a Reset the worker does not take within 2 s ends it and leaves the page idle on a fresh worker', async () => {
    const { run } = await trainedRun();
    const w = latest();
    void run.pause();
    w.emit({ type: 'paused', step: 212 });
    await until(() => run.status === 'paused', 'the pause');
    fakeTimeouts();
    run.reset();
    vi.advanceTimersByTime(2_100);
    expect(w.terminated).toBe(true);
    expect(latest()).not.toBe(w);
    expect(run.status).toBe('idle');
    expect(run.info).toBeNull();
    expect(run.recovery.fault).toBeNull();
    run.dispose();
  });
});

describe('an ended run', () => {
  test('says how it ended, and Extend saves it, loads it back with the new length on the same curve, and trains on', async () => {
    const { run } = await trainedRun();
    const w = latest();
    run.stop();
    w.emit({ type: 'halting', step: 212 });
    w.emit({ type: 'eval', step: 212, train: 2, val: 2.1 });
    const summary = {
      type: 'summary' as const,
      params: 1000,
      nonEmbeddingParams: 900,
      trainLoss: 2,
      valLoss: 2.1,
      tokensPerSec: 1,
      backend: 'webgpu',
      steps: 212,
    };
    w.emit({ type: 'done', summary, stopped: true });
    await until(() => run.statusLabel === 'stopped at step 212 of 1,000', 'the stopped status');
    expect(run.canExtend).toBe(true);
    const records = run.runs.length;
    const saveBefore = w.last('save')?.id;
    const extending = run.extend(1500);
    await until(() => w.last('save') && w.last('save')!.id !== saveBefore, "Extend's save");
    const save = w.last('save')!;
    w.emit({ type: 'saved', id: save.id, bytes: new Uint8Array([9, 9]), step: 212, valLoss: 2.1, valStep: 212, ms: 1 });
    await until(() => w.last('load'), 'the load back');
    const load = w.last('load')!;
    expect(load.mode).toBe('resume');
    expect(Array.from(load.bytes)).toEqual([9, 9]);
    expect(load.train?.maxSteps).toBe(1500);
    announce(w, 212, Array(212).fill(2));
    w.emit({ type: 'paused', step: 212 });
    await extending;
    expect(w.last('resume')).toBeDefined();
    expect(run.status).toBe('training');
    expect(run.runs.length).toBe(records); // the same curve goes on, no second record
    await expect(run.extend(100)).rejects.toThrow(/no ended run/); // while it trains
    run.dispose();
  });

  test('a paused run names its step, and steps left are for Resume, not Extend', async () => {
    const { run } = await trainedRun();
    const w = latest();
    void run.pause();
    w.emit({ type: 'paused', step: 212 });
    expect(run.statusLabel).toBe('paused at step 212');
    expect(run.canExtend).toBe(false); // steps are left: Resume, not Extend
    run.dispose();
  });
});

describe('a diverged run', () => {
  test('rolls back to the checkpoint before the divergence at half the learning rate, and trains on', async () => {
    const { run, bytes } = await trainedRun();
    const w = latest();
    w.emit({
      type: 'error',
      during: 'train',
      message: 'training diverged: the loss became NaN at step 230',
      fault: 'divergence',
      step: 230,
    });
    await until(() => run.recovery.fault?.kind === 'divergence', 'the divergence shown');
    await nothingMoreAfterTurns();
    expect(latest()).toBe(w); // no restart: the same worker holds the run
    expect(run.recovery.fault).toMatchObject({ kind: 'divergence', step: 230 });
    expect(run.checkpoints.stepBefore(230)).toBe(200);
    const rolling = run.recovery.rollBackDiverged();
    await until(() => w.last('load'), 'the rollback load');
    const load = w.last('load')!;
    expect(load.lrScale).toBe(0.5);
    expect(Array.from(load.bytes)).toEqual(Array.from(bytes));
    announce(w, 200, Array(200).fill(2));
    w.emit({ type: 'paused', step: 200 });
    await rolling;
    expect(w.last('resume')).toBeDefined();
    expect(run.status).toBe('training');
    expect(run.recovery.note).toMatch(/Rolled back to step 200 after the divergence at step 230; the learning rate is halved/);
    run.dispose();
  });
});

describe('a hidden tab', () => {
  test('hiding the tab saves the run where it stands; leaving with unsaved steps asks first', async () => {
    // A store that keeps what it is given (Node has no IndexedDB).
    const put = vi.spyOn(RunStore.prototype, 'put').mockResolvedValue();
    vi.spyOn(RunStore.prototype, 'list').mockResolvedValue([]);
    vi.spyOn(RunStore.prototype, 'estimate').mockResolvedValue(null);
    const { run } = await trainedRun(); // autosaved at 200, trained to 212
    const w = latest();
    expect(run.unsavedSteps).toBe(12);
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState });
    const unwatch = watchVisibility(run, doc as unknown as Document);
    const win = new EventTarget();
    const unwatchUnload = watchUnload(run, win as unknown as Window);
    const leave = () => {
      const e = new Event('beforeunload', { cancelable: true });
      Object.defineProperty(e, 'returnValue', { value: undefined, writable: true }); // settable, as on a BeforeUnloadEvent
      win.dispatchEvent(e);
      return e.defaultPrevented;
    };
    const saves = () => w.posted.filter((m) => m.type === 'save').length;
    const before = saves();
    expect(leave()).toBe(true); // 12 steps no save holds: the browser asks, and a save starts
    doc.visibilityState = 'hidden'; // the same save: one is in flight
    doc.dispatchEvent(new Event('visibilitychange'));
    await answerSave(w, 212, run);
    expect(saves()).toBe(before + 1);
    expect(run.checkpoints.lastAutosave?.step).toBe(212);
    expect(put.mock.calls.at(-1)![0]).toMatchObject({ step: 212 });
    expect(run.unsavedSteps).toBe(0);
    expect(leave()).toBe(false); // nothing to lose: no dialog
    // Hidden again with nothing new: no second save.
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    await nothingMoreAfterTurns();
    expect(saves()).toBe(before + 1);
    unwatch();
    unwatchUnload();
    run.dispose();
    vi.restoreAllMocks();
  });

  test('training goes on while hidden unless the user chose to pause; showing the tab resumes', async () => {
    const { run } = await trainedRun();
    const w = latest();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState });
    const unwatch = watchVisibility(run, doc as unknown as Document);
    const setVisibility = (v: DocumentVisibilityState) => {
      doc.visibilityState = v;
      doc.dispatchEvent(new Event('visibilitychange'));
    };
    setVisibility('hidden');
    expect(w.last('pause')).toBeUndefined();
    setVisibility('visible');

    run.pauseWhenHidden = true;
    setVisibility('hidden');
    expect(w.last('pause')).toBeDefined();
    w.emit({ type: 'paused', step: 212 });
    await until(() => run.status === 'paused', 'the pause');
    const resumes = w.posted.filter((m) => m.type === 'resume').length;
    setVisibility('visible');
    expect(w.posted.filter((m) => m.type === 'resume').length).toBe(resumes + 1);
    expect(run.status).toBe('training');

    // A pause the user made stays when the tab shows again.
    void run.pause();
    w.emit({ type: 'paused', step: 212 });
    setVisibility('hidden');
    setVisibility('visible');
    expect(w.posted.filter((m) => m.type === 'resume').length).toBe(resumes + 1);
    unwatch();
    run.dispose();
  });
});

describe("the in-memory checkpoint's budget", () => {
  test.for([1, 40, 300])(
    'a checkpoint that takes the worker %i ms is fetched so that it costs under 5% of the worker’s time',
    async (cost) => {
      const { run } = await trainedRun();
      const w = latest();
      run.checkpoints.autosaveEvery = 0; // only the in-memory checkpoint asks for saves here
      const answeredIds = answered.get(w)!; // the autosave trainedRun answered; a checkpoint asked for since is pending
      const start = Date.now();
      let saving = 0; // worker time spent on the in-memory checkpoint
      let saves = 0;
      let step = 212;
      // A minute of training at 20 ms a step; while the worker writes a checkpoint, no step comes.
      while (Date.now() - start < 60_000) {
        vi.setSystemTime(Date.now() + 20);
        w.emit({ type: 'step', step: ++step, loss: 2, lr: 1e-3, ms: 20, starts: [0], epoch: 0 });
        const save = w.posted.find((m): m is Extract<ToWorker, { type: 'save' }> => m.type === 'save' && !answeredIds.has(m.id));
        if (save) {
          answeredIds.add(save.id);
          vi.setSystemTime(Date.now() + cost);
          saving += cost;
          saves++;
          w.emit({ type: 'saved', id: save.id, bytes: new Uint8Array([1]), step, valLoss: 2.1, valStep: step, ms: cost });
          await until(() => run.checkpoints.shadowStep === step, 'the checkpoint kept in memory');
        }
      }
      const elapsed = Date.now() - start;
      // Under 5% over the minute, but for the one save a window may begin with (the budget is a rate).
      expect((saving - cost) / elapsed).toBeLessThan(0.05);
      // And it is kept fresh: as often as the budget allows (a 300 ms one about every 6 s), never less than every 7 s.
      expect(saves).toBeGreaterThanOrEqual(Math.min(Math.floor(elapsed / 7_000), elapsed / 20 / 2));
      run.dispose();
    },
  );
});
