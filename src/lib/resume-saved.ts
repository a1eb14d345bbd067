/**
 * Takes up a run this browser kept: its corpus first (by name, or the text stored with it), then
 * its checkpoint, paused at its step; the form then shows its settings. Shared by the run bar's
 * offer after a reload and the Checkpoints panel's list.
 */
import type { ConfigForm } from './config-form.svelte.ts';
import type { CorpusState } from './corpus.svelte.ts';
import type { RunState } from './run.svelte.ts';
import type { SavedRunSummary } from './run-store.ts';

/** Resolves with a line saying what was resumed; rejects with why it could not be. */
export async function resumeSaved(run: RunState, corpus: CorpusState, form: ConfigForm, summary: SavedRunSummary): Promise<string> {
  const saved = await run.checkpoints.store.get(summary.key);
  if (!saved) throw new Error(`${summary.name} is no longer saved`);
  const { name, source, text } = saved.corpus;
  if (source === 'file') {
    if (text === undefined) throw new Error(`${summary.name}: its corpus text was not saved with it`);
    await corpus.loadText(name, text);
  } else {
    await corpus.load(name);
  }
  if (corpus.error || corpus.name !== name || corpus.text === null)
    throw new Error(`the corpus ${name} could not be loaded: ${corpus.error ?? 'another corpus was chosen meanwhile'}`);
  const message = { name, text: corpus.text, entropyRate: corpus.entropyRate ?? undefined };
  await run.load(saved.bytes, message, 'resume', undefined, { source, key: saved.key });
  if (run.info) form.adopt(run.info.config.model, run.info.config.train);
  return `${saved.name} resumed at step ${saved.step}`;
}
