/**
 * The Runs table: every run this browser keeps (run-store.ts), one row each, read from its saved
 * checkpoint's header (no tensor is read): its corpus, shape, parameters, steps and tokens, its
 * schedule, and its last train and val loss; which settings differ between the runs a user
 * selects; and the table as CSV.
 */
import { countParams, type ModelConfig, type TrainConfig } from '../core/config.ts';
import { forecastRun } from '../core/forecast.ts';
import { LEDGER_CUTS } from '../core/ledger.ts';
import { headerLength, parseHeader } from '../core/safetensors.ts';
import type { RunHistory, RunInfo } from '../../workers/protocol.ts';

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

/** The forecast a finished run's record gives from its first quarter, set against the val loss it reached. */
export interface EarlyForecast {
  seen: number; // the last step the forecast saw
  predicted: number; // val loss forecast at the last step, nats/char
  band: [number, number]; // its 90% band
  actual: number; // the val loss of the evaluation at the last step
}

/** The part of RunFacts a listing keeps (no curves): what the index stores beside each run. */
export interface RunSummaryFacts {
  model: ModelConfig | null;
  train: TrainConfig | null;
  lastEval: { step: number; train: number; val: number } | null;
  /** For a run that reached its last step: its forecast from 25% of its steps; null where none could be made. */
  forecast?: EarlyForecast | null;
}

export function summaryFacts(f: RunFacts): RunSummaryFacts {
  return { model: f.model, train: f.train, lastEval: f.history?.evals.at(-1) ?? null, forecast: earlyForecast(f) };
}

/**
 * The forecast from the first LEDGER_CUTS[0] (25%) of a finished run's steps, as the run's chart
 * and the ledger make it (forecastRun, the same record), against its final val loss; null for a
 * run that has not reached its last evaluation, or whose first quarter gives no forecast.
 */
export function earlyForecast({ train, history }: Pick<RunFacts, 'train' | 'history'>): EarlyForecast | null {
  if (!train || !history) return null;
  const final = history.evals.find((e) => e.step === train.maxSteps);
  if (!final) return null;
  const stepOf = history.lossSteps ? (i: number) => history.lossSteps![i] : (i: number) => i + 1;
  const f = forecastRun(
    {
      schedule: train,
      steps: history.losses.map((loss, i) => ({ step: stepOf(i), loss })),
      evals: history.evals.map((e) => ({ step: e.step, loss: e.val })),
    },
    { upto: Math.round(LEDGER_CUTS[0] * train.maxSteps) },
  );
  if (f.kind !== 'forecast') return null;
  return { seen: f.step, predicted: f.final, band: [f.band[0], f.band[1]], actual: final.val };
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
  schedule: string | null; // "warm-up 100, cosine to 3e-4 over 2,000"
  backend: string | null; // the backend that trained it, where the store kept it
  baseline: { label: string; nats: number } | null; // its corpus's best n-gram on the val split
  forecast: EarlyForecast | null; // from 25% of the steps, against the outcome (finished runs)
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
  summary: {
    key: string;
    name: string;
    date: number;
    step: number;
    corpus: { name: string };
    backend?: string | null;
    baseline?: { label: string; nats: number } | null;
  },
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
    schedule: train ? describeSchedule(train) : null,
    backend: summary.backend ?? null,
    baseline: summary.baseline ?? null,
    forecast: facts?.forecast ?? null,
    settings,
  };
}

/** What a saved run keeps beside its checkpoint for the Runs table: the backend it trained on, and its corpus's best n-gram. */
export function runExtras(
  info: Pick<RunInfo, 'references'>,
  backend: string | null,
): { backend: string | null; baseline: { label: string; nats: number } | null } {
  const baselines = info.references.filter((r) => r.kind === 'baseline');
  const best = baselines.reduce<(typeof baselines)[number] | null>((b, r) => (b === null || r.nats < b.nats ? r : b), null);
  return { backend, baseline: best && { label: best.label, nats: best.nats } };
}

/** A run's learning-rate schedule in a few words. */
export function describeSchedule(t: Pick<TrainConfig, 'learningRate' | 'minLr' | 'warmupSteps' | 'maxSteps'>): string {
  const warm = t.warmupSteps > 0 ? `warm-up ${t.warmupSteps.toLocaleString('en')}, ` : '';
  return t.minLr === t.learningRate
    ? `${warm}constant ${t.learningRate}`
    : `${warm}cosine ${t.learningRate} → ${t.minLr} over ${t.maxSteps.toLocaleString('en')}`;
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
  const header = [
    'run',
    'corpus',
    'saved',
    'step',
    'max steps',
    'N',
    'tokens',
    'train loss',
    'val loss',
    'eval step',
    'schedule',
    'backend',
    'best n-gram',
    'best n-gram val loss',
    'forecast at 25%',
    'forecast band low',
    'forecast band high',
    'forecast seen step',
    ...settings,
  ];
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
      r.schedule,
      r.backend,
      r.baseline?.label,
      r.baseline?.nats,
      r.forecast?.predicted,
      r.forecast?.band[0],
      r.forecast?.band[1],
      r.forecast?.seen,
      ...settings.map((s) => r.settings[s]),
    ]
      .map(cell)
      .join(','),
  );
  return [header.map(cell).join(','), ...lines].join('\n') + '\n';
}
