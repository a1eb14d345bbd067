/**
 * `export-nanogpt`: a run saved by `train --save` (or downloaded from the app) as the files that
 * make nanoGPT's train.py continue it (src/core/nanogpt.ts says what each holds). Every input is
 * checked, and every file made in memory, before anything is written; the folder then appears
 * whole, renamed into place from a temporary one beside it.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  checkCorpus,
  defaultExportName,
  ExportMisfit,
  exportFiles,
  exportNameIssue,
  MAX_GPUS,
  planExport,
  readRunToExport,
  trainCommand,
  type RunToExport,
} from '../core/nanogpt.ts';
import type { ZipEntry } from '../core/zip.ts';
import { startBackend } from './backend.ts';
import { sha256 } from '../core/sha256.ts';
import { checkInputFile, readCheckpoint, readCorpus } from './files.ts';
import { checkWhole, required, UsageError, type ParsedFlags } from './flags.ts';
import { emit } from './output.ts';

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** The temporary folder the export is written into before it is renamed to `out`. */
function tempDirOf(out: string): string {
  return join(dirname(resolve(out)), `.${basename(resolve(out))}.${process.pid}.tmp`);
}

/** --out: a folder that does not exist yet (its parent does) or exists and is empty, and a place where one can be made. */
function checkOutDir(out: string) {
  if (out === '') throw new UsageError('--out is empty; give a folder path');
  // A link whose target is gone looks absent to existsSync, and the rename at the end would fail on it.
  if (!existsSync(out) && lstatOrNull(out)?.isSymbolicLink())
    throw new UsageError(`--out ${out} is a link to ${readlinkSync(out)}, which does not exist; give a folder (new, or empty)`);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a file; give a folder (new, or empty)`);
    const inside = readdirSync(out);
    if (inside.length > 0)
      throw new UsageError(
        `--out ${out} exists and is not empty (${inside.length} ${inside.length === 1 ? 'entry' : 'entries'}); give a new or empty folder, then copy it over the nanoGPT checkout`,
      );
  }
  const parent = dirname(resolve(out));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new UsageError(`--out ${out}: the folder ${parent} does not exist`);
  const tmp = tempDirOf(out);
  try {
    mkdirSync(tmp);
    rmdirSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--out ${out}: a folder cannot be made in ${parent} (${code === 'EACCES' || code === 'EPERM' ? 'not writable' : code})`,
    );
  }
}

/**
 * The run's corpus text: --corpus when given, else the corpus the checkpoint names (a bundled or
 * synthetic one by its name, a file by the path it was trained from), checked by its SHA-256.
 */
async function runCorpus(run: RunToExport, given: string | undefined, file: string): Promise<string> {
  const check = async (text: string, what: string) => {
    try {
      checkCorpus(run, await sha256(text), what);
    } catch (err) {
      throw err instanceof ExportMisfit ? new UsageError(`${given === undefined ? '' : `--corpus ${given}: `}${err.message}`) : err;
    }
    return text;
  };
  if (given !== undefined) return check(readCorpus(given), given);
  if (!run.corpus) throw new UsageError(`${file} does not say which corpus it trained on: give its text with --corpus PATH`);
  const stored = run.corpus.name;
  let text: string;
  try {
    text = readCorpus(stored);
  } catch (err) {
    if (err instanceof UsageError)
      throw new UsageError(`${file} trained on ${JSON.stringify(stored)}, which is not here: give its text with --corpus PATH`);
    throw err;
  }
  if ((await sha256(text)) !== run.corpus.sha256)
    throw new UsageError(`${file} trained on another text than ${JSON.stringify(stored)} has now: give the run's text with --corpus PATH`);
  return text;
}

/** Writes the files into a temporary folder beside `out`, each flushed to the disk, then renames it to `out`. */
function writeExport(out: string, files: ZipEntry[]) {
  const tmp = tempDirOf(out);
  try {
    for (const { path, bytes } of files) {
      const target = join(tmp, path);
      mkdirSync(dirname(target), { recursive: true });
      const fd = openSync(target, 'wx');
      try {
        writeSync(fd, bytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    if (existsSync(out)) rmdirSync(out); // empty: checked before anything was made
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export async function exportNanogpt({ values: v }: ParsedFlags<'export-nanogpt'>) {
  const file = required(v.checkpoint, 'checkpoint');
  const out = required(v.out, 'out');
  checkWhole(v.gpus, 'gpus', 1, MAX_GPUS);
  if (v.torch !== '1' && v.torch !== '2')
    throw new UsageError(`--torch must be 1 or 2 (the major version of the PyTorch nanoGPT will run on), got ${JSON.stringify(v.torch)}`);
  if (v.steps !== undefined) checkWhole(v.steps, 'steps', 0, 1e9);
  if (v.name !== undefined) {
    const issue = exportNameIssue(v.name);
    if (issue) throw new UsageError(`--name ${issue}`);
  }
  checkInputFile(file, 'checkpoint');
  if (v.corpus !== undefined && v.corpus === '')
    throw new UsageError("--corpus is empty; give the run's text (a file path or a corpus name)");
  checkOutDir(out);

  // The one checkpoint validator (shapes, values, settings) first; then what the export reads.
  const bytes = readCheckpoint(file);
  await startBackend('cpu');
  const { loadCheckpoint } = await import('../../workers/checkpoint.ts');
  loadCheckpoint(bytes).model.dispose();
  const misfit = (err: unknown): never => {
    throw err instanceof ExportMisfit ? new UsageError(`${file}: ${err.message}`) : err;
  };
  let run: RunToExport;
  let plan;
  try {
    run = readRunToExport(bytes);
    const name = v.name ?? defaultExportName(run.corpus?.name ?? basename(file).replace(/\.safetensors$/i, ''));
    plan = planExport(run, { name, gpus: v.gpus, maxSteps: v.steps, torch: v.torch === '1' ? 1 : 2 });
  } catch (err) {
    return misfit(err);
  }
  const text = await runCorpus(run, v.corpus, file);
  let files: ZipEntry[];
  try {
    files = exportFiles(run, text, plan);
  } catch (err) {
    return misfit(err);
  }
  writeExport(out, files);

  emit({
    type: 'export',
    out,
    name: plan.name,
    step: plan.iterNum,
    maxIters: plan.maxIters,
    valLoss: plan.valLoss,
    gpus: v.gpus,
    batchSize: plan.batchSize,
    gradientAccumulationSteps: plan.gradientAccumulationSteps,
    torch: plan.torch,
    tokens: { train: files[0].bytes.length / 2, val: files[1].bytes.length / 2 },
    files: files.map((f) => f.path),
    command: trainCommand(plan),
    ...(plan.iterNum >= plan.maxIters
      ? { note: `the run is at its last step (${plan.maxIters}): train.py will evaluate and stop; give --steps N to continue it` }
      : {}),
  });
}
