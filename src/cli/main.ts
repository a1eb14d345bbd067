/**
 * tabgpt from a terminal: `npm run cli -- <command> [flags]`. JSON Lines on stdout, errors on
 * stderr with a non-zero exit: 2 for a bad flag (one line, naming it), 1 for anything else. The
 * training core is the same one the browser worker runs.
 *
 * One file per family of commands: train.ts (train), inference.ts (sample, score), inspect.ts
 * (inspect, probe), data.ts (batches, baseline), scaling.ts (sweep, fit), batch-ladder.ts, forecast.ts (forecast, backtest, ledger); flags.ts holds every command's flags and the one
 * parser that reads them, files.ts the files they name.
 */
import { errorMessage } from '../core/errors.ts';
import { baseline, batches } from './data.ts';
import { exportNanogpt } from './export.ts';
import { backtest, forecast, ledger } from './forecast.ts';
import { isCommand, parseFlags, usage, UsageError, type Command, type ParsedFlags } from './flags.ts';
import { evalTask, sample, score } from './inference.ts';
import { inspect, probe } from './inspect.ts';
import { flushOutput, print } from './output.ts';
import { batchLadder } from './batch-ladder.ts';
import { fit, sweep } from './scaling.ts';
import { train } from './train.ts';

/** Each command's implementation, given its parsed flags. */
const RUN: { [C in Command]: (flags: ParsedFlags<C>) => void | Promise<void> } = {
  train,
  sample,
  score,
  eval: evalTask,
  inspect,
  probe,
  batches,
  baseline,
  sweep,
  'batch-ladder': batchLadder,
  fit,
  forecast,
  backtest,
  ledger,
  'export-nanogpt': exportNanogpt,
};

async function runCommand<C extends Command>(command: C, args: string[]): Promise<void> {
  const flags = parseFlags(command, args);
  if (flags.help) print(usage(command) + '\n');
  else await RUN[command](flags);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    print(usage() + '\n');
    return command ? 0 : 1;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${usage()}`);
  await runCommand(command, rest);
  return 0;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await flushOutput(); // a write that failed exits 1 here, rather than 0
    process.exit(code);
  },
  (err: unknown) => {
    const msg = errorMessage(err);
    process.stderr.write(`error: ${msg}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
