/** Names and labels for checkpoints the page offers: pure, so they are tested outside the browser. */

/** `tabgpt-moby-dick-step400.safetensors`; a file corpus loses its .txt and any character a file name should not hold. */
export function checkpointFileName(corpus: string, step: number): string {
  const slug = corpus
    .replace(/\.txt$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '');
  return `tabgpt-${slug || 'corpus'}-step${step}.safetensors`;
}

/** "2026-11-23 17:05": a saved run's date, in the visitor's time zone. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "just now", "12 min ago", "3 h ago", "2 days ago": how long ago a run was saved. */
export function formatAge(ms: number, now: number): string {
  const minutes = Math.floor((now - ms) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** "val loss 3.643 at step 100": a saved run's latest eval, with its step when that is not the saved one. */
export function formatValLoss(run: { step: number; valLoss: number | null; valStep?: number | null }): string {
  if (run.valLoss === null || !Number.isFinite(run.valLoss)) return 'val loss —';
  const at = run.valStep !== undefined && run.valStep !== null && run.valStep !== run.step ? ` at step ${run.valStep}` : '';
  return `val loss ${run.valLoss.toFixed(3)}${at}`;
}

/**
 * A load's note while the run stays paused where it was loaded, with how to go on from there; null
 * once the run has moved on (trained, reset, another load), so the note never outlives its state.
 */
export function loadedNote(
  note: { text: string; step: number } | null,
  run: { status: string; step: number; maxSteps: number },
): string | null {
  if (!note || run.status !== 'paused' || run.step !== note.step) return null;
  if (run.maxSteps > 0 && run.step >= run.maxSteps)
    return `${note.text}; it has reached its last step: sample, score or export it, or fine-tune it to train on`;
  return `${note.text}; press Resume to train`;
}

/** What a checkpoint file holds, read from its header alone: enough to say what loading it will do. */
export interface CheckpointSummary {
  shape: string; // "2 layers × 64 wide, 4 heads, context 64"
  step: number;
  maxSteps: number | null; // the run's planned length, when the file has its training settings
  corpus: string | null; // the name of the corpus it trained on
  vocabSize: number;
  resumable: boolean; // it holds the optimizer and data order: Resume continues it exactly
}

/**
 * Reads a checkpoint's header (the first 8 + n bytes of the file, never its tensors) and says what
 * it holds; throws an Error saying why when it is not a tabgpt checkpoint.
 */
export async function describeCheckpoint(file: Blob): Promise<CheckpointSummary> {
  const fail = (why: string): never => {
    throw new Error(`not a tabgpt checkpoint: ${why}`);
  };
  if (file.size < 8) fail(`${file.size} bytes is too short for a safetensors header`);
  const n = Number(new DataView(await file.slice(0, 8).arrayBuffer()).getBigUint64(0, true));
  if (n > Math.min(file.size - 8, 100e6)) fail('its header length does not fit the file (truncated, or not safetensors)');
  let meta: Record<string, string> | undefined;
  try {
    const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await file.slice(8, 8 + n).arrayBuffer())) as {
      __metadata__?: Record<string, string>;
    };
    meta = header.__metadata__;
  } catch {
    fail('its header is not valid JSON');
  }
  if (!meta?.config || !meta.vocab || meta.step === undefined)
    return fail('it has no model settings, vocabulary or step (a safetensors file of something else?)');
  try {
    const model = JSON.parse(meta.config) as { nLayer: number; nEmbd: number; nHead: number; blockSize: number };
    const vocab = JSON.parse(meta.vocab) as string[];
    const train = meta.train ? (JSON.parse(meta.train) as { maxSteps: number }) : null;
    const corpus = meta.corpus ? (JSON.parse(meta.corpus) as { name: string }) : null;
    const step = Number(meta.step);
    if (![model.nLayer, model.nEmbd, model.nHead, model.blockSize, step].every(Number.isInteger) || !Array.isArray(vocab))
      throw new Error();
    return {
      shape: `${model.nLayer} ${model.nLayer === 1 ? 'layer' : 'layers'} × ${model.nEmbd} wide, ${model.nHead} ${model.nHead === 1 ? 'head' : 'heads'}, context ${model.blockSize}`,
      step,
      maxSteps: Number.isInteger(train?.maxSteps) ? train!.maxSteps : null,
      corpus: typeof corpus?.name === 'string' ? corpus.name : null,
      vocabSize: vocab.length,
      resumable: meta.state !== undefined && train !== null,
    };
  } catch {
    return fail('its settings cannot be read');
  }
}

/** "2 layers × 64 wide, 4 heads, context 64 · step 400 of 600 · moby-dick · 65 characters": one line for a checkpoint. */
export function formatSummary(s: CheckpointSummary): string {
  const step = s.maxSteps !== null ? `step ${s.step} of ${s.maxSteps}` : `step ${s.step}`;
  return [s.shape, step, s.corpus ?? 'corpus unknown', `${s.vocabSize} characters`].join(' · ');
}
