/**
 * What `train` forecasts of its own run: a forecast line every --forecast-every steps, and with
 * --ledger, the forecasts made at 25% and 50% of the run set against the val loss it reached (and
 * any law's prediction for this model and budget settled), appended to the ledger at the end.
 */
import { countParams } from '../core/config.ts';
import { forecastRun, type Forecast } from '../core/forecast.ts';
import { forecastEntries, ledgerRows, settlesLaw } from '../core/ledger.ts';
import { stepsOf, type RunHistory } from '../../workers/history.ts';
import type { Trainer } from '../../workers/train.ts';
import { appendLedger, forecastLine, readLedger } from './forecast.ts';
import { emit } from './output.ts';

interface Options {
  history: RunHistory; // grows as the run trains: losses of steps 1…n, and the evaluations
  trainer: Trainer;
  corpus: string;
  every: number; // a forecast line every this many steps (0: none)
  ledger: string | null;
  floor: number | null; // the corpus's exact entropy rate, where known
}

export function runForecasts({ history, trainer, corpus, every, ledger, floor }: Options) {
  const curve = () => ({
    floor,
    schedule: trainer.config,
    steps: stepsOf(history).map((step, i) => ({ step, loss: history.losses[i] })),
    evals: history.evals.map((e) => ({ step: e.step, loss: e.val })),
  });
  const at = (upto?: number): Forecast => forecastRun(curve(), upto === undefined ? {} : { upto });
  return {
    // A step with an evaluation forecasts after it: the line then is what `forecast --upto` gives for the log.
    afterStep(step: number) {
      const { evalEvery } = trainer.config;
      if (evalEvery > 0 && step % evalEvery === 0) return;
      if (every > 0 && step % every === 0 && step < trainer.config.maxSteps) emit(forecastLine(at()));
    },
    afterEval(step: number) {
      if (every > 0 && step > 0 && step % every === 0 && step < trainer.config.maxSteps) emit(forecastLine(at()));
    },
    /** After the final evaluation: the ledger's entries for this run. */
    atEnd() {
      if (ledger === null) return;
      const { maxSteps, batchSize } = trainer.config;
      const final = history.evals.find((e) => e.step === maxSteps);
      if (!final) return;
      const model = trainer.model.config;
      const label = `${corpus} ${model.nLayer}×${model.nEmbd} ctx ${model.blockSize}, ${maxSteps} steps`;
      const key = `forecast ${corpus} ${JSON.stringify(model)} ${JSON.stringify(trainer.config)}`;
      const time = new Date().toISOString();
      const entries = forecastEntries(curve(), { key, label, corpus, actual: final.val, time });
      // A law's open prediction for this model and budget: settled by this run's val loss.
      const N = countParams(model).nonEmbedding;
      const D = maxSteps * batchSize * model.blockSize;
      // The latest entry of each prediction: one already settled is not settled again.
      for (const e of ledgerRows(readLedger(ledger, 'ledger')))
        if (settlesLaw(e, { corpus, N, D })) {
          const { error: _, inBand: __, ...entry } = e;
          entries.push({ ...entry, actual: final.val, time });
        }
      appendLedger(ledger, entries);
      for (const e of entries) emit({ type: 'ledger', ...e });
    },
  };
}
