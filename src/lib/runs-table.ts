/**
 * The Runs table: every run this browser keeps (run-store.ts), one row each, read from its saved
 * checkpoint's header (no tensor is read): its corpus, shape, parameters, steps and tokens, its
 * schedule, and its last train and val loss; which settings differ between the runs a user
 * selects; and the table as CSV.
 */
import { countParams, type ModelConfig, type TrainConfig } from '../core/config.ts';
import { headerLength, parseHeader } from '../core/safetensors.ts';
import type { RunHistory } from '../../workers/protocol.ts';

/** What a saved run's header says of it: its configs and its curves (absent in a file that lacks them). */
export interface RunFacts {
  model: ModelConfig | null;
  train: TrainConfig | null;
  history: RunHistory | null;
}

/** Reads a checkpoint's header for its configs and history; what is missing or malformed is null. */
export function runFacts(bytes: Uint8Array): RunFacts {
  try {
    const n = headerLength(bytes.subarray(0, 8), bytes.length);
    const meta = (parseHeader(bytes.subarray(8, 8 + n)).__metadata__ ?? {}) as Record<string, unknown>;
    const json = <T>(key: string): T | null => {
      try {
        return typeof meta[key] === 'string' ? (JSON.parse(meta[key]) as T) : null;
      } catch {
        return null;
      }
    };
    return { model: json<ModelConfig>('config'), train: json<TrainConfig>('train'), history: json<RunHistory>('history') };
  } catch {
    return { model: null, train: null, history: null };
  }
}

/** The part of RunFacts a listing keeps (no curves): what the index stores beside each run. */
export interface RunSummaryFacts {
  model: ModelConfig | null;
  train: TrainConfig | null;
  lastEval: { step: number; train: number; val: number } | null;
}

export function summaryFacts(f: RunFacts): RunSummaryFacts {
  return { model: f.model, train: f.train, lastEval: f.history?.evals.at(-1) ?? null };
}

/** One row of the table. */
export interface RunRow {
  key: string;
  name: string; // "moby-dick · 2×64 · ctx 64"
  corpus: string;
  date: number; // ms since the epoch, of the last save
  step: number;
  maxSteps: number | null;
  params: number | null; // N, embeddings included
  tokens: number | null; // characters trained on: step × batch × context
  train: number | null; // the last evaluation's train loss, nats/char
  val: number | null; // and its val loss
  evalStep: number | null; // the step of that evaluation
  settings: Record<string, string>; // every setting, as the config diff compares them
}

/** The settings a row shows in the diff, in the form's words. */
const SETTINGS: { label: string; of: (m: ModelConfig, t: TrainConfig | null) => unknown }[] = [
  { label: 'layers', of: (m) => m.nLayer },
  { label: 'heads', of: (m) => m.nHead },
  { label: 'width', of: (m) => m.nEmbd },
  { label: 'context', of: (m) => m.blockSize },
  { label: 'dropout', of: (m) => m.dropout },
  { label: 'vocabulary', of: (m) => m.vocabSize },
  { label: 'batch', of: (_, t) => t?.batchSize },
  { label: 'steps', of: (_, t) => t?.maxSteps },
  { label: 'learning rate', of: (_, t) => t?.learningRate },
  { label: 'min lr', of: (_, t) => t?.minLr },
  { label: 'warm-up', of: (_, t) => t?.warmupSteps },
  { label: 'weight decay', of: (_, t) => t?.weightDecay },
  { label: 'sampling', of: (_, t) => t?.sampling },
  { label: 'seed', of: (_, t) => t?.seed },
];

export function runRow(
  summary: { key: string; name: string; date: number; step: number; corpus: { name: string } },
  facts: RunSummaryFacts | undefined,
): RunRow {
  const model = facts?.model ?? null;
  const train = facts?.train ?? null;
  const settings: Record<string, string> = {};
  if (model) for (const s of SETTINGS) settings[s.label] = s.of(model, train) === undefined ? '—' : String(s.of(model, train));
  settings.corpus = summary.corpus.name;
  const last = facts?.lastEval ?? null;
  return {
    key: summary.key,
    name: summary.name,
    corpus: summary.corpus.name,
    date: summary.date,
    step: summary.step,
    maxSteps: train?.maxSteps ?? null,
    params: model ? countParams(model).total : null,
    tokens: model && train ? summary.step * train.batchSize * model.blockSize : null,
    train: last?.train ?? null,
    val: last?.val ?? null,
    evalStep: last?.step ?? null,
    settings,
  };
}

/** The settings whose values differ between `rows` (two or more), each with every row's value. */
export function configDiff(rows: RunRow[]): { setting: string; values: string[] }[] {
  if (rows.length < 2) return [];
  const settings = [...new Set(rows.flatMap((r) => Object.keys(r.settings)))];
  return settings
    .map((setting) => ({ setting, values: rows.map((r) => r.settings[setting] ?? '—') }))
    .filter(({ values }) => new Set(values).size > 1);
}

/** The table as CSV (RFC 4180: fields with a comma, quote or newline quoted, quotes doubled). */
export function runsCsv(rows: RunRow[]): string {
  const settings = [...new Set(rows.flatMap((r) => Object.keys(r.settings)))].filter((s) => s !== 'corpus');
  const header = ['run', 'corpus', 'saved', 'step', 'max steps', 'N', 'tokens', 'train loss', 'val loss', 'eval step', ...settings];
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = rows.map((r) =>
    [
      r.name,
      r.corpus,
      new Date(r.date).toISOString(),
      r.step,
      r.maxSteps,
      r.params,
      r.tokens,
      r.train,
      r.val,
      r.evalStep,
      ...settings.map((s) => r.settings[s]),
    ]
      .map(cell)
      .join(','),
  );
  return [header.map(cell).join(','), ...lines].join('\n') + '\n';
}
