/**
 * The CLI's flags: one parser for every command's flags (their table is commands.ts), and the
 * checks every command shares. A flag error is a
 * UsageError: exit 2, one line on stderr naming the flag.
 */
import { defaultTrainConfig, renameFields, validateTrainConfig, type ConfigIssue, type Sampling } from '../core/config.ts';
import type { BackendChoice } from '../../workers/backend.ts';

/** A bad flag or argument: the process exits with 2 and the message on one line. */
export class UsageError extends Error {}

import { COMMANDS, FIELD_FLAGS, type Command, type FlagSpec, type FlagsOf } from './commands.ts';

export * from './commands.ts';

/** Decimal notation: 12, -3, 0.5, .5, 5., 1e-3, +2. Not 0x10, 0b11, 0o7, Infinity, NaN, '' or ' 1'. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A number written in decimal, or NaN for anything else (other notations, and decimals too large for a double). */
export function parseDecimal(text: string): number {
  if (!DECIMAL.test(text)) return NaN;
  const v = Number(text);
  return Number.isFinite(v) ? v : NaN;
}

/** The value of numeric flag `--flag`: every number any command reads from a flag comes through here. */
export function numberFlag(text: string, flag: string): number {
  const v = parseDecimal(text);
  if (!Number.isNaN(v)) return v;
  if (DECIMAL.test(text) || /^[+-]?Infinity$/.test(text))
    throw new UsageError(`--${flag} must be a finite number, got ${JSON.stringify(text)}`);
  if (/^\s*[+-]?0[box]/i.test(text)) throw new UsageError(`--${flag} must be a number written in decimal, got ${JSON.stringify(text)}`);
  throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
}

type ValueOf<S extends FlagSpec> = S['type'] extends 'number' ? number : S['type'] extends 'boolean' ? boolean : string;
/** A command's flag values: numbers for numeric flags, and defined wherever the flag has a default. */
export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K] extends { default: string } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

export interface ParsedFlags<C extends Command> {
  values: FlagValues<FlagsOf<C>>;
  /** Each flag with a value as the user typed it (or its default), for messages that quote it. */
  text: Partial<Record<keyof FlagsOf<C> & string, string>>;
  /** The flags the user typed, as opposed to defaults: a resumed run refuses settings it would ignore. */
  explicit: Set<string>;
  help: boolean;
}

/**
 * A value that starts with a dash but is a number (`--lr -1`, `--k -0.5`): taken as the value, and
 * its own check says what is wrong with it. Any other dash after a flag that wants a value is a
 * forgotten value (`--save --steps 3`), not a file or a prompt called "--steps".
 */
const NEGATIVE = /^-(\d|\.\d|Infinity$|NaN$)/;

/**
 * The one flag parser: `--name value`, `--name=value`, `--switch`, `--help`/`-h`. Unknown flags,
 * missing values and stray arguments are refused; numeric flags (and their defaults) are read
 * by numberFlag; a flag given twice is refused (which one was meant?).
 */
export function parseFlags<C extends Command>(command: C, args: string[]): ParsedFlags<C> {
  const specs = COMMANDS[command].flags as Record<string, FlagSpec>;
  const given = new Map<string, string | true>();
  let help = false;
  let stray: string | undefined; // refused after the loop, so that --help anywhere still shows the flags
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (/^-[^-]/.test(arg) && !NEGATIVE.test(arg))
      throw new UsageError(
        `unknown flag ${arg} for ${command}; flags look like --name value (npm run cli -- ${command} --help lists them)`,
      );
    if (!arg.startsWith('--') || arg === '--') {
      stray ??= arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!Object.hasOwn(specs, name))
      throw new UsageError(`unknown flag --${name} for ${command} (npm run cli -- ${command} --help lists them)`);
    if (given.has(name)) throw new UsageError(`--${name} is given twice; give it once`);
    if (specs[name].type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} is a switch and takes no value, got ${JSON.stringify(arg.slice(eq + 1))}`);
      given.set(name, true);
      continue;
    }
    const value = eq < 0 ? args[i + 1] : arg.slice(eq + 1);
    if (eq < 0) {
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (/^-./.test(value) && !NEGATIVE.test(value))
        throw new UsageError(`--${name} needs a value, got the flag ${value} (a value that starts with a dash goes as --${name}=${value})`);
      i++;
    }
    given.set(name, value);
  }
  const explicit = new Set(given.keys());
  if (help) return { values: {} as FlagValues<FlagsOf<C>>, text: {}, explicit, help }; // the caller prints the flags and stops
  if (stray !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(stray)}; flags look like --name value`);
  const values: Record<string, string | number | boolean | undefined> = {};
  const text: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const v = given.get(name) ?? spec.default;
    if (typeof v === 'string') text[name] = v;
    values[name] = spec.type === 'number' && typeof v === 'string' ? numberFlag(v, name) : v;
  }
  return { values: values as FlagValues<FlagsOf<C>>, text: text as ParsedFlags<C>['text'], explicit, help };
}

/** A flag with no default that the command cannot do without. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  if (value === '') throw new UsageError(`--${flag} is empty`);
  return value;
}

export function sampling(raw: string): Sampling {
  if (raw !== 'random' && raw !== 'sequential') throw new UsageError(`--sampling must be random or sequential, got ${JSON.stringify(raw)}`);
  return raw;
}

/** The backends Node has: WebGL is the browser's (the app offers it), and tfjs has none for Node. */
export function backendChoice(raw: string): BackendChoice {
  if (raw === 'auto' || raw === 'webgpu' || raw === 'wasm' || raw === 'cpu') return raw;
  if (raw === 'webgl')
    throw new UsageError('--backend webgl runs only in a browser (the app); in the terminal use auto, webgpu, wasm or cpu');
  throw new UsageError(`--backend must be auto, webgpu, wasm or cpu, got ${JSON.stringify(raw)}`);
}

const trainFlagOf = (field: string): string | undefined => (FIELD_FLAGS as Record<string, string>)[field];

/**
 * Refuses the flags behind `issues` (exit 2), worded in flags: each config name in a message
 * becomes the flag it comes from ("--min-lr (1) must not exceed --lr (0.003)"), and a message
 * about another setting is led by its flag and value ("--heads 3: --embd (16) must be divisible by
 * --heads (3)"). `flagOf` says which flag a field comes from (train's, by default); a field it has
 * no flag for keeps its config name.
 */
export function refuseFlags(
  issues: ConfigIssue[],
  text: Record<string, string | undefined>,
  flagOf: (field: string) => string | undefined = trainFlagOf,
) {
  if (issues.length === 0) return;
  const lines = issues.map((i) => {
    const flag = flagOf(i.field);
    const message = renameFields(i.message, (field) => {
      const f = flagOf(field);
      return f ? `--${f}` : undefined;
    });
    if (!flag || message.startsWith(`--${flag} `)) return message;
    return `--${flag} ${String(text[flag])}: ${message}`;
  });
  throw new UsageError(lines.join('; '));
}

/** Every command's --seed has train's limits (a whole number from 0 to 2^32 − 1), decided by the one validator. */
export function checkSeed(seed: number, text: Record<string, string | undefined>) {
  refuseFlags(
    validateTrainConfig({ ...defaultTrainConfig, seed }).filter((i) => i.field === 'seed'),
    text,
  );
}

/** A flag that counts something: a whole number from `min` to `max`. */
export function checkWhole(value: number, flag: string, min: number, max = Infinity) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be a whole number ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}, got ${value}`);
  }
}
