import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { writeAtomically, type WriteIo } from '../../src/cli/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabgpt-write-'));
const good = new Uint8Array(72_248).fill(7);
const next = new Uint8Array(72_248).fill(9);

/** A disk that takes `room` bytes and then, like a full tmpfs, writes short and fails. */
function fullDisk(room: number): WriteIo {
  let left = room;
  return {
    writeSync(fd, bytes, offset, length) {
      if (left === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = writeSync(fd, bytes, offset, Math.min(length, left));
      left -= n;
      return n;
    },
    readFileSync: (p) => readFileSync(p),
  };
}

function start(name: string) {
  const path = join(dir, name);
  writeFileSync(path, good);
  return path;
}

test('a write the disk takes in part never replaces the good file, says the disk is full and leaves no temporary file', () => {
  const path = start('ck.safetensors');
  expect(() => writeAtomically(path, next, fullDisk(8192))).toThrow(`could not write ${path}: the disk is full; the previous file is kept`);
  expect(readFileSync(path)).toEqual(Buffer.from(good));
  expect(readdirSync(dir).filter((f) => f.startsWith('ck.safetensors') && f !== 'ck.safetensors')).toEqual([]);
});

test('a write that reports every byte but leaves other bytes on the disk is caught by reading it back', () => {
  const path = start('lying.safetensors');
  const lying: WriteIo = {
    writeSync: (fd, bytes, offset, length) => {
      writeSync(fd, bytes, offset, Math.min(length, 8192));
      return length; // claims all of it
    },
    readFileSync: (p) => readFileSync(p),
  };
  expect(() => writeAtomically(path, next, lying)).toThrow(
    /what the disk holds \(8192 bytes\) is not what was written \(72248\); the previous file is kept/,
  );
  expect(readFileSync(path)).toEqual(Buffer.from(good));
});

test('a write of 0 bytes at a time stops rather than loops', () => {
  const path = start('stuck.safetensors');
  const stuck: WriteIo = { writeSync: () => 0, readFileSync: (p) => readFileSync(p) };
  expect(() => writeAtomically(path, next, stuck)).toThrow(/the disk took 0 of 72248 bytes/);
  expect(readFileSync(path)).toEqual(Buffer.from(good));
});

test('a whole write replaces the file', () => {
  const path = start('ok.safetensors');
  writeAtomically(path, next);
  expect(readFileSync(path)).toEqual(Buffer.from(next));
  const fd = openSync(path, 'r');
  closeSync(fd);
  expect(existsSync(path)).toBe(true);
});

test('a folder removed while a run trains: the save says so in one line, naming the folder', () => {
  const gone = mkdtempSync(join(dir, 'gone-'));
  rmSync(gone, { recursive: true });
  expect(() => writeAtomically(join(gone, 'ck.safetensors'), next)).toThrow(
    new RegExp(`^could not write .*ck\\.safetensors: its folder ${gone} is gone \\(removed after the run began\\)$`),
  );
});
