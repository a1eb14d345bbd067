/**
 * The setup a link carries: every form value, the backend and the bundled corpus, as a query
 * string such as `?layers=4&embd=128&sampling=sequential&backend=wasm`. Keys are the CLI's
 * flag names, so a link and `npm run cli -- train --layers 4 …` read alike. Values equal to
 * their default are left out to keep links short. Parsing never throws: an unknown key is
 * ignored and a malformed value falls back to its default.
 */
import { defaultModelConfig, defaultTrainConfig, type BackendName, type ModelConfig, type TrainConfig } from '../core/config.ts';

/** The editable settings of the form. */
export type FormValues = Pick<ModelConfig, 'nLayer' | 'nHead' | 'nEmbd' | 'blockSize' | 'dropout'> &
  Pick<TrainConfig, 'batchSize' | 'maxSteps' | 'learningRate' | 'seed' | 'sampling'>;

/** Everything a link reproduces: the form, the backend and which bundled corpus. */
export interface Setup extends FormValues {
  backend: 'auto' | BackendName;
  corpus: string;
}

export const backendChoices = ['auto', 'webgpu', 'wasm', 'webgl', 'cpu'] as const satisfies readonly Setup['backend'][];

export const defaultSetup: Setup = {
  nLayer: defaultModelConfig.nLayer,
  nHead: defaultModelConfig.nHead,
  nEmbd: defaultModelConfig.nEmbd,
  blockSize: defaultModelConfig.blockSize,
  dropout: defaultModelConfig.dropout,
  batchSize: defaultTrainConfig.batchSize,
  maxSteps: defaultTrainConfig.maxSteps,
  learningRate: defaultTrainConfig.learningRate,
  seed: defaultTrainConfig.seed,
  sampling: defaultTrainConfig.sampling,
  backend: 'auto',
  corpus: 'moby-dick',
};

// What counts as well-formed for each key. Bounds are the loosest a setting can have (a size
// of 0 is never meant); the form's validators still report values they reject, such as a
// head count that does not divide the width.
type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'real'; min: number; max: number; openMax?: boolean; positive?: boolean }
  | { type: 'choice'; options: readonly string[] | 'corpora' };

const KEYS: { [K in keyof Setup]: { param: string; kind: Kind } } = {
  corpus: { param: 'corpus', kind: { type: 'choice', options: 'corpora' } },
  nLayer: { param: 'layers', kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER } },
  nHead: { param: 'heads', kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER } },
  nEmbd: { param: 'embd', kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER } },
  blockSize: { param: 'ctx', kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER } },
  dropout: { param: 'dropout', kind: { type: 'real', min: 0, max: 1, openMax: true } },
  batchSize: { param: 'batch', kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER } },
  maxSteps: { param: 'steps', kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER } },
  learningRate: { param: 'lr', kind: { type: 'real', min: 0, max: Infinity, positive: true } },
  sampling: { param: 'sampling', kind: { type: 'choice', options: ['random', 'sequential'] } },
  seed: { param: 'seed', kind: { type: 'int', min: 0, max: 2 ** 32 - 1 } },
  backend: { param: 'backend', kind: { type: 'choice', options: backendChoices } },
};

const setupKeys = Object.keys(KEYS) as (keyof Setup)[];

/** A setting's name in the address and as a CLI flag: `nLayer` is `layers` (`--layers`). */
export function flagOf(key: keyof Setup): string {
  return KEYS[key].param;
}

// Plain decimal or exponent notation only: Number() would also take '', ' ', '0x10' and 'Infinity'.
const INT = /^\d+$/;
const REAL = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The value `raw` stands for, or undefined when it is malformed for `kind`. */
function parseValue(raw: string, kind: Kind, corpora: readonly string[]): number | string | undefined {
  switch (kind.type) {
    case 'int': {
      if (!INT.test(raw)) return undefined;
      const v = Number(raw);
      return Number.isSafeInteger(v) && v >= kind.min && v <= kind.max ? v : undefined;
    }
    case 'real': {
      if (!REAL.test(raw)) return undefined;
      const v = Number(raw);
      const inRange = v >= kind.min && (kind.openMax ? v < kind.max : v <= kind.max) && !(kind.positive && v === 0);
      return Number.isFinite(v) && inRange ? v : undefined;
    }
    case 'choice':
      return (kind.options === 'corpora' ? corpora : kind.options).includes(raw) ? raw : undefined;
    default:
      return kind satisfies never;
  }
}

/**
 * The setup a query string describes, each key missing or malformed taking its default.
 * `corpora` names the bundled corpora a link may pick.
 */
export function parseSetup(search: string, corpora: readonly string[], defaults: Setup = defaultSetup): Setup {
  const params = new URLSearchParams(search);
  const setup: Record<string, unknown> = { ...defaults };
  for (const key of setupKeys) {
    const raw = params.get(KEYS[key].param);
    if (raw === null) continue;
    const v = parseValue(raw.trim(), KEYS[key].kind, corpora);
    if (v !== undefined) setup[key] = v;
  }
  return setup as unknown as Setup;
}

/**
 * `search` with the setup's keys rewritten: a value equal to its default, or one that is not a
 * well-formed value (an emptied number field), is left out. Keys this module does not own stay.
 * `corpus: null` leaves the corpus out (a user's file cannot travel in a link).
 */
export function setupToSearch(
  setup: Omit<Setup, 'corpus'> & { corpus: string | null },
  search = '',
  defaults: Setup = defaultSetup,
): string {
  const params = new URLSearchParams(search);
  for (const key of setupKeys) {
    const { param, kind } = KEYS[key];
    params.delete(param);
    const v = setup[key];
    if (v === null || v === undefined || v === defaults[key]) continue;
    const raw = String(v);
    // Write only what parseSetup would read back as the same value.
    if (kind.type === 'choice' ? kind.options !== 'corpora' && !kind.options.includes(raw) : parseValue(raw, kind, []) !== v) continue;
    params.set(param, raw);
  }
  const query = params.toString();
  return query === '' ? '' : `?${query}`;
}
