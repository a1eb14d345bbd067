/**
 * A run as `train` logs it (JSON Lines: a start line with the run's whole config, then step, eval
 * and summary lines), read back for the forecast and the backtest. Lines of other kinds (saved,
 * noise, probe) are skipped; a line that is not JSON is an error naming its number.
 */
import type { ModelConfig, TrainConfig } from './config.ts';
import type { CurvePoint, RunCurve } from './forecast.ts';

export interface RunLog extends RunCurve {
  model: ModelConfig;
  train: TrainConfig;
  corpus: string;
  lastStep: number; // the last step logged
  finalVal: number | null; // the val loss of an evaluation at the planned last step, if the run got there
}

export class RunLogError extends Error {}

/** Reads a `train` log. A resumed run's log continues its start line's run; a second start line is refused. */
export function parseRunLog(text: string, name = 'the log'): RunLog {
  let start: { model: ModelConfig; train: TrainConfig; corpus: string } | null = null;
  const steps: CurvePoint[] = [];
  const evals: CurvePoint[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new RunLogError(`${name}, line ${i + 1}: not JSON (a log is what \`train\` prints, one JSON object a line)`);
    }
    if (e === null || typeof e !== 'object') throw new RunLogError(`${name}, line ${i + 1}: not a JSON object`);
    const num = (k: string) => {
      const v = e[k];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new RunLogError(`${name}, line ${i + 1}: ${String(e.type)} line without a finite "${k}"`);
      return v;
    };
    switch (e.type) {
      case 'start': {
        if (start) throw new RunLogError(`${name}, line ${i + 1}: a second start line (one log holds one run)`);
        const train = e.train as TrainConfig | undefined;
        const model = e.model as ModelConfig | undefined;
        if (!train || typeof train.maxSteps !== 'number' || typeof train.learningRate !== 'number' || !model)
          throw new RunLogError(
            `${name}, line ${i + 1}: the start line has no run config ("model" and "train"): logs from before this version cannot be forecast`,
          );
        start = { model, train, corpus: typeof e.corpus === 'string' ? e.corpus : '' };
        break;
      }
      case 'step':
        steps.push({ step: num('step'), loss: num('loss') });
        break;
      case 'eval':
        evals.push({ step: num('step'), loss: num('val') });
        break;
      default:
        break;
    }
  });
  if (!start) throw new RunLogError(`${name}: no start line (is it a log of \`train\`?)`);
  const s: { model: ModelConfig; train: TrainConfig; corpus: string } = start;
  const lastStep = Math.max(steps.at(-1)?.step ?? 0, evals.at(-1)?.step ?? 0);
  const end = evals.find((e) => e.step === s.train.maxSteps);
  return { ...s, schedule: s.train, steps, evals, lastStep, finalVal: end ? end.loss : null };
}
