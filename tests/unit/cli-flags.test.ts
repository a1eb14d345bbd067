/**
 * The CLI's one flag parser, in-process and over the exported table: every numeric flag of every
 * command takes decimal numbers only, and every refusal is one line that names its flag. The
 * processes behind these rules (exit 2, stderr) are rows of bad-input.test.ts.
 */
import { describe, expect, test } from 'vitest';
import {
  backendChoice,
  COMMANDS,
  parseDecimal,
  parseFlags,
  refuseFlags,
  usage,
  UsageError,
  type Command,
  type FlagSpec,
} from '../../src/cli/flags.ts';
import { defaultTrainConfig, validateTrainConfig } from '../../src/core/config.ts';

const commands = Object.keys(COMMANDS) as Command[];
const flagsOf = (c: Command) => Object.entries(COMMANDS[c].flags as Record<string, FlagSpec>);
const numericFlags = commands.flatMap((c) =>
  flagsOf(c).flatMap(([name, spec]) => (spec.type === 'number' ? [{ command: c, flag: name }] : [])),
);

/** What parseFlags throws for these arguments: a UsageError, or the test fails. */
function refusal(command: Command, args: string[]): string {
  try {
    parseFlags(command, args);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`${command} ${args.join(' ')} was accepted`);
}

const NOT_DECIMAL = [
  '0x10',
  '0X1f',
  '0b11',
  '0o7',
  '1e400',
  '-1e400',
  'Infinity',
  '-Infinity',
  '+Infinity',
  'NaN',
  '',
  ' ',
  ' 16',
  '16 ',
  '1_000',
  '1,5',
  '1.2.3',
  'e5',
  '.',
  '-',
  'ten',
  '١٢',
];

describe('cli flags', () => {
  test('the table has numeric flags in every command that counts something', () => {
    expect(new Set(numericFlags.map((f) => f.command))).toEqual(
      new Set(commands.filter((c) => c !== 'score' && c !== 'inspect' && c !== 'ledger' && c !== 'backtest')),
    );
  });

  test.each(numericFlags)('$command --$flag refuses every non-decimal form, naming the flag in one line', ({ command, flag }) => {
    for (const bad of NOT_DECIMAL) {
      for (const args of [[`--${flag}`, bad], [`--${flag}=${bad}`]]) {
        const message = refusal(command, args);
        const got = `, got ${JSON.stringify(bad)}`;
        expect(
          [
            `--${flag} must be a number${got}`,
            `--${flag} must be a finite number${got}`,
            `--${flag} must be a number written in decimal${got}`,
          ],
          JSON.stringify(args),
        ).toContain(message);
        expect(message).not.toContain('\n');
      }
    }
  });

  test('hex, binary and octal say decimal; values past a double and infinities say finite', () => {
    expect(refusal('train', ['--steps', '0x10'])).toBe('--steps must be a number written in decimal, got "0x10"');
    expect(refusal('train', ['--steps', '1e400'])).toBe('--steps must be a finite number, got "1e400"');
    expect(refusal('sample', ['--temperature', '-Infinity'])).toBe('--temperature must be a finite number, got "-Infinity"');
    expect(refusal('baseline', ['--k', 'NaN'])).toBe('--k must be a number, got "NaN"');
  });

  test.each([
    ['16', 16],
    ['-3', -3],
    ['+2', 2],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e-3', 0.001],
    ['2E3', 2000],
    ['007', 7],
    ['4294967296', 4294967296],
  ])('decimal %j reads as %d', (text, value) => {
    expect(parseDecimal(text)).toBe(value);
    expect(parseFlags('train', ['--lr', text]).values.lr).toBe(value);
  });

  test.each(commands)('%s: every default parses, and --help lists every flag', (command) => {
    expect(() => parseFlags(command, [])).not.toThrow();
    const help = usage(command);
    for (const [name] of flagsOf(command)) expect(help).toContain(`--${name}`);
  });

  test('values: numbers for numeric flags, defaults where not given, the text as typed, and which flags were typed', () => {
    const { values, text, explicit } = parseFlags('train', ['--lr=1e-3', '--steps', '30', '--corpus', 'sotu']);
    expect(values).toMatchObject({ lr: 0.001, steps: 30, corpus: 'sotu', layers: Number(COMMANDS.train.flags.layers.default) });
    expect(values.save).toBeUndefined();
    expect(text).toMatchObject({ lr: '1e-3', steps: '30', layers: COMMANDS.train.flags.layers.default });
    expect([...explicit].sort()).toEqual(['corpus', 'lr', 'steps']);
  });

  test('a negative number is a value; any other dash after a flag that wants one is a missing value', () => {
    expect(parseFlags('train', ['--lr', '-1']).values.lr).toBe(-1);
    expect(parseFlags('baseline', ['--k', '-.5']).values.k).toBe(-0.5);
    expect(parseFlags('sample', ['--prompt', '-5']).values.prompt).toBe('-5');
    expect(parseFlags('sample', ['--prompt=-x']).values.prompt).toBe('-x');
    expect(refusal('sample', ['--prompt', '-x'])).toBe(
      '--prompt needs a value, got the flag -x (a value that starts with a dash goes as --prompt=-x)',
    );
    expect(refusal('train', ['--save', '--steps', '3'])).toMatch(/^--save needs a value, got the flag --steps/);
    expect(refusal('train', ['--steps'])).toBe('--steps needs a value');
  });

  test('unknown flags, switches given values and stray arguments are refused in one line', () => {
    expect(refusal('train', ['--frobnicate', '1'])).toMatch(/^unknown flag --frobnicate for train/);
    expect(refusal('train', ['-s', '1'])).toMatch(/^unknown flag -s for train/);
    expect(refusal('score', ['--seed', '1'])).toMatch(/^unknown flag --seed for score/);
    expect(refusal('sample', ['--no-kv-cache=false'])).toBe('--no-kv-cache is a switch and takes no value, got "false"');
    expect(refusal('batches', ['sotu'])).toBe('unexpected argument "sotu"; flags look like --name value');
    expect(parseFlags('batches', ['sotu', '--help']).help).toBe(true); // --help anywhere still shows the flags
    expect(parseFlags('sample', ['--no-kv-cache']).values['no-kv-cache']).toBe(true);
  });

  test('a flag given twice is refused, whichever way it is written: which value was meant?', () => {
    expect(refusal('train', ['--steps', '5', '--steps', '6'])).toBe('--steps is given twice; give it once');
    expect(refusal('train', ['--steps=5', '--steps', '5'])).toBe('--steps is given twice; give it once');
    expect(refusal('train', ['--probe', '--probe'])).toBe('--probe is given twice; give it once');
  });

  test("webgl is the browser's backend: not offered in the help, refused with a sentence", () => {
    expect(usage('train')).not.toContain('webgl');
    expect(() => backendChoice('webgl')).toThrow(
      '--backend webgl runs only in a browser (the app); in the terminal use auto, webgpu, wasm or cpu',
    );
    expect(backendChoice('wasm')).toBe('wasm');
  });

  test('help tells the truth: sweep --tokens shows its default, train --resume lists what may change', () => {
    expect(usage('sweep')).toMatch(/--tokens .*\(default "200000"\)/);
    expect(usage('train')).toContain(
      'only --steps, --eval-every, --log-every, --save, --save-every, --noise-scale-every, --forecast-every, --ledger, --backend may change',
    );
  });

  test('config issues are worded in flags, never in config names', () => {
    const refused = (train: Partial<typeof defaultTrainConfig>, text: Record<string, string>) => {
      try {
        refuseFlags(validateTrainConfig({ ...defaultTrainConfig, ...train }), text);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ maxSteps: -5 }, { steps: '-5' })).toBe('--steps must be at least 1, got -5');
    expect(refused({ minLr: 1 }, { 'min-lr': '1' })).toBe(`--min-lr (1) must not exceed --lr (${defaultTrainConfig.learningRate})`);
    expect(refused({ seed: 2 ** 32 }, { seed: '4294967296' })).toBe('--seed must be at most 4294967295, got 4294967296');
  });
});
