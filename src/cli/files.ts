/**
 * The files the CLI reads and writes: each named by a flag, checked before any work is spent, read
 * within a size limit, and written atomically (never a half-written checkpoint).
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { corpora, isCorpusName, loadCorpus } from '../../datasets/corpora.ts';
import { generateCopy, isCopySpec, parseCopySpec } from '../core/copy.ts';
import { generateMarkov, isMarkovSpec, parseMarkovSpec } from '../core/markov.ts';
import { generateTask, isTaskSpec } from '../core/tasks.ts';
import { defaultReadLimits, headerLength, parseHeader } from '../core/safetensors.ts';
import { checkCorpusSize, decodeCorpus } from '../core/text.ts';
import { UsageError } from './flags.ts';

/** A file a flag names, checked before any work: it exists and is a file. */
export function checkInputFile(path: string, flag: string) {
  if (path === '') throw new UsageError(`--${flag} is empty; give a file path`);
  if (!existsSync(path)) throw new UsageError(`--${flag} ${path}: no such file`);
  const stat = statSync(path);
  if (!stat.isFile())
    throw new UsageError(`--${flag} ${path} ${stat.isDirectory() ? 'is a directory, not a file' : 'is not a regular file'}`);
}

/**
 * The model config and corpus a checkpoint names, from its header alone (no backend, no tensors),
 * for the checks that come before the backend starts; nothing for what the header does not hold
 * (the full load reports that).
 */
export function peekCheckpoint(path: string): { blockSize?: number; corpus?: string; run?: string; step?: number } {
  const meta = safetensorsMetadata(path);
  const parse = (key: string): unknown => {
    try {
      return typeof meta?.[key] === 'string' ? JSON.parse(meta[key]) : undefined;
    } catch {
      return undefined;
    }
  };
  const config = parse('config') as { blockSize?: unknown } | undefined;
  const corpus = parse('corpus') as { name?: unknown } | undefined;
  return {
    ...(typeof config?.blockSize === 'number' ? { blockSize: config.blockSize } : {}),
    ...(typeof corpus?.name === 'string' ? { corpus: corpus.name } : {}),
    ...(typeof meta?.run === 'string' ? { run: meta.run } : {}),
    ...(typeof meta?.step === 'string' && /^\d+$/.test(meta.step) ? { step: Number(meta.step) } : {}),
  };
}

/**
 * Whether --save may replace what is at `path`: nothing there, or a checkpoint of this same run
 * (the file it resumes from, or one its run id says is its own, an earlier save of it); another
 * run's checkpoint only with --force. Two runs saving to one file would leave one of them.
 */
export function checkSaveTarget(path: string, own: { resume: string | null; runId: string | null; force: boolean }) {
  if (own.force || !existsSync(path)) return;
  if (own.resume !== null && sameFile(path, own.resume)) return;
  const there = peekCheckpoint(path);
  if (own.runId !== null && there.run === own.runId) return;
  throw new UsageError(
    `--save ${path} holds the checkpoint of another run${there.step === undefined ? '' : ` (at step ${there.step})`}; ` +
      'saving would replace it: give another path, or add --force to replace it',
  );
}

/**
 * Takes `path`.lock for this process while it trains, so a second run given the same --save is
 * refused instead of replacing the first's saves; a lock whose process has ended is taken over.
 * Removed when the process exits, however it exits (signals end it through process.exit).
 */
export function lockSave(path: string, runId: string) {
  const lock = `${path}.lock`;
  const mine = JSON.stringify({ pid: process.pid, run: runId });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, mine, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = lockHolder(lock);
      if (holder !== null && processAlive(holder))
        throw new UsageError(
          `--save ${path} is being written by another run (process ${holder}); give another path, or wait until it ends`,
        );
      rmSync(lock, { force: true }); // its process has ended: a lock left by a crash
    }
  }
  const release = () => {
    if (lockHolder(lock) === process.pid) rmSync(lock, { force: true });
  };
  process.once('exit', release);
  undoIfInterrupted(release); // held until the process ends
}

/** The process a lock file names, or null where it names none (unreadable, not ours). */
function lockHolder(lock: string): number | null {
  try {
    const { pid } = JSON.parse(readFileSync(lock, 'utf8')) as { pid?: unknown };
    return Number.isInteger(pid) ? (pid as number) : null;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** A corpus written as a name: bundled (moby-dick, sotu) or synthetic (markov:…, copy:…), as opposed to a file. */
export function isNamedCorpus(name: string): boolean {
  return isCorpusName(name) || isMarkovSpec(name) || isCopySpec(name) || isTaskSpec(name);
}

/** The same file, however it is spelled (relative, through links): for existing paths only. */
function sameFile(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
}

/** The temporary file writeAtomically writes before renaming it over `path`. */
function tempPathOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

/** What a path that is not a regular file is, in words: "a directory", "a FIFO", "a device", … */
function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The metadata of the safetensors file at `path` from its header alone, or null if it has none (not safetensors). */
function safetensorsMetadata(path: string): Record<string, unknown> | null {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) < 8) return null;
    const json = Buffer.alloc(headerLength(head, size));
    if (readSync(fd, json, 0, json.length, 8) < json.length) return null;
    const meta = parseHeader(json).__metadata__;
    return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where --save will write, checked before training so a finished run is never lost to a bad path:
 * a file path (not empty, not a directory, FIFO or device, not one of `inputs`, such as the
 * corpus), in a directory that exists, where the temporary file can be created now (a name too
 * long or a place that refuses files shows here). An existing file may be replaced only if it is a
 * checkpoint (a safetensors file with a model config and vocabulary): never a text file someone
 * typed by mistake.
 */
export function checkOutputPath(path: string, flag: string, inputs: { path: string; what: string }[] = []) {
  if (path === '') throw new UsageError(`--${flag} is empty; give a file path`);
  if (/[\\/]$/.test(path)) throw new UsageError(`--${flag} ${path} is a directory; give a file path`);
  const stat = existsSync(path) ? statSync(path) : null;
  if (stat && !stat.isFile())
    throw new UsageError(`--${flag} ${path} is ${kindOf(stat)}${stat.isDirectory() ? '' : ', not a regular file'}; give a file path`);
  for (const input of inputs)
    if (sameFile(path, input.path))
      throw new UsageError(`--${flag} ${path} is ${input.what}: saving would overwrite it; give another path`);
  const dir = dirname(resolve(path));
  // The nearest part of the path that exists says why the directory is not there.
  let above = dir;
  while (!existsSync(above) && dirname(above) !== above) above = dirname(above);
  if (!statSync(above).isDirectory())
    throw new UsageError(
      `--${flag} ${path}: ${above} is ${statSync(above).isFile() ? 'a file' : kindOf(statSync(above))}, not a directory`,
    );
  if (above !== dir) throw new UsageError(`--${flag} ${path}: the directory ${dir} does not exist`);
  if (stat) {
    const meta = safetensorsMetadata(path);
    if (!meta || meta.config === undefined || meta.vocab === undefined)
      throw new UsageError(
        `--${flag} ${path} exists and is not a tabgpt checkpoint${meta ? ' (a safetensors file without a model config and vocabulary)' : ''}; saving would overwrite it: give another path, or remove it first`,
      );
  }
  const tmp = tempPathOf(path);
  try {
    writeFileSync(tmp, new Uint8Array(0), { flag: 'wx' });
    rmSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--${flag} ${path}: a file cannot be written there (${code === 'ENAMETOOLONG' ? 'the name is too long' : code === 'EACCES' || code === 'EPERM' ? 'not writable' : (code ?? String(err))})`,
    );
  }
  if (stat) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new UsageError(`--${flag} ${path} exists and may not be replaced`);
    }
  }
}

/**
 * What an interrupt (Ctrl-C, a kill) must undo: temporary files being written, a --save lock.
 * The handlers are installed only while there is something to undo: without them Node ends the
 * process at once on SIGINT or SIGTERM, even in the middle of long synchronous work (a fit, an
 * n-gram count), where a handler would wait for that work to end.
 */
const undoOnSignal = new Set<() => void>();
const onSignal = (signal: NodeJS.Signals) => {
  for (const undo of undoOnSignal) undo();
  process.exit(signal === 'SIGINT' ? 130 : 143);
};

/** Runs `undo` if the process is interrupted, until the returned function is called. */
function undoIfInterrupted(undo: () => void): () => void {
  if (undoOnSignal.size === 0) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
  undoOnSignal.add(undo);
  return () => {
    undoOnSignal.delete(undo);
    if (undoOnSignal.size === 0) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
  };
}

/** The file calls writeAtomically makes: Node's, or a stand-in that fails the way a full disk does (tests). */
export interface WriteIo {
  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number): number;
  readFileSync(path: string): Uint8Array;
}

const nodeIo: WriteIo = {
  writeSync: (fd, bytes, offset, length) => writeSync(fd, bytes, offset, length),
  readFileSync: (path) => readFileSync(path),
};

/**
 * Writes a new file beside `path`, flushes it to the disk, reads it back and renames it over: an
 * existing file is never replaced by a short or different one (a nearly full disk can take a
 * write in part without an error: every byte count is checked, and what is on the disk is compared
 * with what was meant), a crash after the rename leaves the whole new file, and an interrupted or
 * failed write leaves no temporary file behind.
 */
export function writeAtomically(path: string, bytes: Uint8Array, io: WriteIo = nodeIo) {
  const tmp = tempPathOf(path);
  const done = undoIfInterrupted(() => rmSync(tmp, { force: true }));
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let done = 0; done < bytes.length;) {
        const n = io.writeSync(fd, bytes, done, bytes.length - done);
        if (!(n > 0)) throw new Error(`could not write ${path}: the disk took ${done} of ${bytes.length} bytes (is it full?)`);
        done += n;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const back = io.readFileSync(tmp);
    if (
      back.length !== bytes.length ||
      !Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    )
      throw new Error(
        `could not write ${path}: what the disk holds (${back.length} bytes) is not what was written (${bytes.length}); the previous file is kept`,
      );
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT')
      throw new Error(`could not write ${path}: the disk is full; the previous file is kept`, { cause: err });
    if (code === 'ENOENT' && !existsSync(dirname(resolve(path))))
      throw new Error(`could not write ${path}: its folder ${dirname(resolve(path))} is gone (removed after the run began)`, {
        cause: err,
      });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new Error(`could not write ${path}: its folder no longer takes files (${code}); the previous file is kept`, { cause: err });
    throw err;
  } finally {
    done();
  }
}

/** A file's bytes, as the checkpoint loader wants them. */
function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A checkpoint file's bytes; one over the reader's size limit is refused before it is read. */
export function readCheckpoint(path: string): Uint8Array {
  const size = statSync(path).size;
  if (size > defaultReadLimits.maxBytes)
    throw new Error(`not a usable checkpoint: ${path} is ${size} bytes; the limit is ${defaultReadLimits.maxBytes}`);
  return readBytes(path);
}

/** The largest --points file fit reads: a sweep of thousands of points is a few hundred KB. */
const MAX_POINTS_BYTES = 50e6;

/** Fit's --points file, before it is read: a regular file (not a directory, a FIFO that never ends, or /dev/zero) of at most 50 MB. */
export function checkPointsFile(path: string) {
  checkInputFile(path, 'points');
  const size = statSync(path).size;
  if (size > MAX_POINTS_BYTES)
    throw new UsageError(`--points ${path} is ${(size / 1e6).toFixed(1)} MB; a file of points is at most ${MAX_POINTS_BYTES / 1e6} MB`);
}

/** A --corpus text, by name, synthetic spec or path; a synthetic one also knows its exact entropy rate (nats/char). */
export function readCorpusWithFloor(nameOrPath: string): { text: string; entropyRate?: number } {
  if (isCorpusName(nameOrPath)) return { text: loadCorpus(nameOrPath) };
  if (isMarkovSpec(nameOrPath)) {
    let spec;
    try {
      spec = parseMarkovSpec(nameOrPath);
    } catch (err) {
      throw new UsageError(`--corpus ${nameOrPath}: ${(err as Error).message}`);
    }
    const { text, entropyRate } = generateMarkov(spec);
    return { text, entropyRate };
  }
  if (isCopySpec(nameOrPath)) {
    try {
      const { text, entropyRate } = generateCopy(parseCopySpec(nameOrPath));
      return { text, entropyRate };
    } catch (err) {
      throw new UsageError(`--corpus ${nameOrPath}: ${(err as Error).message}`);
    }
  }
  if (isTaskSpec(nameOrPath)) {
    // A task's training text: its held-out problems are not in it (src/core/tasks.ts).
    try {
      return { text: generateTask(nameOrPath).text };
    } catch (err) {
      throw new UsageError(`--corpus ${nameOrPath}: ${(err as Error).message}`);
    }
  }
  if (!existsSync(nameOrPath)) {
    throw new UsageError(
      `--corpus ${JSON.stringify(nameOrPath)} is neither a bundled corpus (${Object.keys(corpora).join(', ')}), a synthetic one (markov:…, copy:…), a task (arith:…, instruct:…, memo:…) nor a file`,
    );
  }
  const stat = statSync(nameOrPath);
  if (!stat.isFile())
    throw new UsageError(`--corpus ${nameOrPath} ${stat.isDirectory() ? 'is a directory, not a text file' : 'is not a regular file'}`);
  // A file that is not a corpus (empty, binary, not UTF-8, too large) is a bad --corpus: exit 2, naming it.
  try {
    checkCorpusSize(stat.size, 'the file'); // before reading it: a huge file is refused at once
    return { text: decodeCorpus(readFileSync(nameOrPath), 'the file') };
  } catch (err) {
    throw new UsageError(`--corpus ${nameOrPath}: ${(err as Error).message}`);
  }
}

export function readCorpus(nameOrPath: string): string {
  return readCorpusWithFloor(nameOrPath).text;
}
