/**
 * The app's "Export for nanoGPT": the current run's checkpoint and its corpus as one .zip of the
 * files `npm run cli -- export-nanogpt` writes (src/core/nanogpt.ts), to unzip in a nanoGPT
 * checkout. Pure apart from the SHA-256 (Web Crypto), so it is tested in Node.
 */
import { sha256 } from '../core/sha256.ts';
import {
  checkCorpus,
  defaultExportName,
  exportFiles,
  planExport,
  readRunToExport,
  trainCommand,
  type ExportPlan,
} from '../core/nanogpt.ts';
import { zipChunks } from '../core/zip.ts';

export interface NanoGptZip {
  chunks: Uint8Array[]; // the archive's bytes, in order: new Blob(chunks)
  fileName: string; // tabgpt-nanogpt-<name>-step<k>.zip
  plan: ExportPlan;
  command: string; // what to run in the checkout once it is unzipped there
}

/**
 * The zip for a run's checkpoint `bytes`, with the text of the corpus loaded in the page (it must be
 * the run's own: checked by its SHA-256). Throws an Error that says what does not fit.
 */
export async function nanoGptZip(
  bytes: Uint8Array,
  corpus: { name: string; text: string },
  opts: { gpus: number; torch: 1 | 2 },
): Promise<NanoGptZip> {
  const run = readRunToExport(bytes);
  const plan = planExport(run, { name: defaultExportName(run.corpus?.name ?? corpus.name), ...opts });
  checkCorpus(run, await sha256(corpus.text), `${corpus.name}, the corpus loaded now (load the run's own to export it)`);
  const files = exportFiles(run, corpus.text, plan);
  return {
    chunks: zipChunks(files),
    fileName: `tabgpt-nanogpt-${plan.name}-step${plan.iterNum}.zip`,
    plan,
    command: trainCommand(plan),
  };
}
