/**
 * The files the CLI reads and writes: each named by a flag, checked before any work is spent, read
 * within a size limit, and written atomically (never a half-written checkpoint).
 */
import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { corpora, isCorpusName, loadCorpus } from '../../datasets/corpora.ts';
import { generateCopy, isCopySpec, parseCopySpec } from '../core/copy.ts';
import { generateMarkov, isMarkovSpec, parseMarkovSpec } from '../core/markov.ts';
import { defaultReadLimits } from '../core/safetensors.ts';
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

/** The same file, however it is spelled (relative, through links): for existing paths only. */
function sameFile(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
}

/** The temporary file writeAtomically writes before renaming it over `path`. */
function tempPathOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

/**
 * Where --save will write, checked before training so a finished run is never lost to a bad path:
 * a file path (not empty, not a directory, not one of `inputs`, such as the corpus), in a directory
 * that exists, where the temporary file can be created now (a name too long or a place that refuses
 * files shows here) and an existing file may be replaced.
 */
export function checkOutputPath(path: string, flag: string, inputs: { path: string; what: string }[] = []) {
  if (path === '') throw new UsageError(`--${flag} is empty; give a file path`);
  if (/[\\/]$/.test(path) || (existsSync(path) && !statSync(path).isFile()))
    throw new UsageError(`--${flag} ${path} is a directory; give a file path`);
  for (const input of inputs)
    if (sameFile(path, input.path))
      throw new UsageError(`--${flag} ${path} is ${input.what}: saving would overwrite it; give another path`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: the directory ${dir} does not exist`);
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
  if (existsSync(path)) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new UsageError(`--${flag} ${path} exists and may not be replaced`);
    }
  }
}

/** Temporary files being written: removed if the process is interrupted (Ctrl-C, a kill). */
const writing = new Set<string>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const tmp of writing) rmSync(tmp, { force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/**
 * Writes a new file beside `path`, flushes it to the disk and renames it over: an existing file is
 * never left half-written, a crash after the rename leaves the whole new file, and an interrupted
 * write leaves no temporary file behind.
 */
export function writeAtomically(path: string, bytes: Uint8Array) {
  const tmp = tempPathOf(path);
  writing.add(tmp);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    writing.delete(tmp);
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
  if (!existsSync(nameOrPath)) {
    throw new UsageError(
      `--corpus ${JSON.stringify(nameOrPath)} is neither a bundled corpus (${Object.keys(corpora).join(', ')}), a synthetic one (markov:…, copy:…) nor a file`,
    );
  }
  const stat = statSync(nameOrPath);
  if (!stat.isFile())
    throw new UsageError(`--corpus ${nameOrPath} ${stat.isDirectory() ? 'is a directory, not a text file' : 'is not a regular file'}`);
  checkCorpusSize(stat.size, nameOrPath); // before reading it: a huge file is refused at once
  return { text: decodeCorpus(readFileSync(nameOrPath), nameOrPath) };
}

export function readCorpus(nameOrPath: string): string {
  return readCorpusWithFloor(nameOrPath).text;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
