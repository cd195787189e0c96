// A model of a compiled program (src/api/compile.ts): trained in memory with
// `fit`, or loaded from a checkpoint of `rnnc run`; then `predict`,
// `evaluate`, `save` and `toModule`. Every step is the CLI's own code:
// src/project.ts binds the model to the data and makes its graphs, the
// training loop is runtime/train/loop.ts, early stopping
// src/validation-watch.ts, predictions src/predictions.ts, metrics and
// checkpoints those of `rnnc run` and `rnnc evaluate`, the module text
// `rnnc compile`'s; so CLI and API checkpoints are interchangeable.
import { dirname } from 'node:path';
import { syntheticSpan } from '../../compiler/diagnostics/span.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import type { BackendName } from '../../runtime/backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../runtime/checkpoint.js';
import { fieldsAsDeclared } from '../../runtime/data/batching.js';
import type { Dataset } from '../../runtime/data/types.js';
import { Rng } from '../../runtime/rng.js';
import { trainLoop, type Position } from '../../runtime/train/loop.js';
import type { EvalResult, TrainingSession } from '../../runtime/train/session.js';
import { startBackend } from '../backend-choice.js';
import { moduleText } from '../commands/compile.js';
import { evalJson, inCheckpointVocabs } from '../commands/evaluate.js';
import { batchSpecs, checkpointExtra, evaluate as evaluateSession, type CheckpointExtra } from '../commands/run.js';
import { newSession } from '../new-session.js';
import { makeFolders, nodeIO } from '../node-io.js';
import { exampleFrom, predictExamples, readerFor } from '../predictions.js';
import { bindModel, declaredFields, greedyGraph, loadData, modelForData, settingsFor, teacherGraph, trainConfigFor, trainingModel, type LoadedProgram } from '../project.js';
import { loadStdlib } from '../stdlib.js';
import { observeValidation, watchedValue, type Watch, type WatchedMetric } from '../validation-watch.js';
import { examplesDataset, IN_MEMORY, isSource, sourceDataset, type Data, type Example } from './data.js';
import { guard, guardAsync, RnncError } from './errors.js';

/** An optimizer: its name (`adam`, `sgd`, `momentum`, `rmsprop`, `adagrad`), or its name and arguments as in a train block. */
export type OptimizerSpec =
  | string
  | {
      /** The optimizer's name; the other keys are its arguments (`lr`, `beta1`, ...). */
      readonly name: string;
      readonly [arg: string]: number | string;
    };

/**
 * Early stopping: stop when the validation metric has not improved by more
 * than `minDelta` for `patience` epochs. The model keeps the parameters of
 * the last epoch trained; {@link History.best} says when the best
 * validation value was reached.
 */
export interface EarlyStop {
  /** How many epochs without an improvement end training. */
  readonly patience: number;
  /** What to watch (default `val_loss`). */
  readonly on?: WatchedMetric;
  /** The smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
}

/** What `onStep` hears after each optimizer step. */
export interface StepReport {
  /** Optimizer updates so far. */
  readonly step: number;
  /** The epoch, from 1. */
  readonly epoch: number;
  /** Batches done in this epoch, from 1, of `batchesPerEpoch`. */
  readonly batch: number;
  /** Batches in an epoch. */
  readonly batchesPerEpoch: number;
  /** The batch's mean loss. */
  readonly loss: number;
  /** The positions (tokens, or examples for a loss per example) the loss counted. */
  readonly count: number;
}

/** Metrics of an evaluation, as `rnnc evaluate --json` prints them. */
export interface Metrics {
  /** The mean loss (cross entropy in nats, or mean squared error). */
  readonly loss: number;
  /** Positions (or examples) counted. */
  readonly count: number;
  /** A language model's (next-token data): exp(loss). */
  readonly perplexity?: number;
  /** A character language model's: loss in bits. */
  readonly bits_per_char?: number;
  /** Token targets: the share of counted positions predicted right. */
  readonly accuracy?: number;
  /** Token sequence targets: the share of sequences right at every position, of `sequences`. */
  readonly exact?: number;
  /** How many sequences `exact` counts. */
  readonly sequences?: number;
}

/** What `onEpoch` hears after each epoch. */
export interface EpochReport {
  /** The epoch, from 1. */
  readonly epoch: number;
  /** Optimizer updates so far. */
  readonly step: number;
  /** The mean training loss over the epoch's batches. */
  readonly loss: number;
  /** The metrics on the validation examples, when there are some. */
  readonly validation?: Metrics;
}

/** Options of {@link Model.fit}; each one left out is the train block's setting (or its default without one). */
export interface FitOptions {
  /** Passes over the training examples. */
  readonly epochs?: number;
  /** Examples per batch (per optimizer update). */
  readonly batch?: number;
  /** Seeds the initial parameters and the order of batches. */
  readonly seed?: number;
  /** The optimizer and its arguments, e.g. `{ name: 'adam', lr: 0.01 }`. */
  readonly optimizer?: OptimizerSpec;
  /** Examples to validate on after every epoch (with in-memory training examples; a data source has its own split). */
  readonly validation?: readonly Example[];
  /** Stop early on the validation metric (needs validation data); `false` turns off the train block's `early_stop`. */
  readonly earlyStop?: EarlyStop | false;
  /** Called after every optimizer step. */
  readonly onStep?: (report: StepReport) => void;
  /** Called after every epoch, with its validation metrics. */
  readonly onEpoch?: (report: EpochReport) => void;
  /** Stops training between two batches; `fit` then resolves with status `stopped`. */
  readonly signal?: AbortSignal;
}

/** How training went. */
export interface History {
  /** `done`: every epoch ran; `early-stop`: the validation metric stopped improving; `stopped`: the signal was aborted. */
  readonly status: 'done' | 'early-stop' | 'stopped';
  /** Optimizer updates made. */
  readonly steps: number;
  /** What `onEpoch` heard, epoch by epoch. */
  readonly epochs: readonly EpochReport[];
  /** The best validation value, and its step (with validation data). */
  readonly best?: {
    /** The metric watched. */
    readonly on: WatchedMetric;
    /** Its best value (null when no validation gave a finite one). */
    readonly value: number | null;
    /** The optimizer step it was reached at. */
    readonly step: number;
  };
}

/** One input of {@link Model.predict}: its value for a model with one input, or an object mapping the model's input names to values. */
export type PredictInput = Example['x'] | { readonly [input: string]: Example['x'] };

/** One result of {@link Model.predict}: a line of `rnnc predict --json`. */
export interface Prediction {
  /** The input, as given. */
  readonly input: PredictInput;
  /** A classifier's: the most likely class (its name when the data had names), its id and the probability of each class. */
  readonly label?: string;
  /** A classifier's: the id of `label`. */
  readonly id?: number;
  /** A classifier's: the probability of each class, by id. */
  readonly probs?: number[];
  /** A tagger's or a language model's: the most likely token at each step (a language model's: the next one), and their ids. */
  readonly tokens?: string[];
  /** The ids of `tokens`. */
  readonly ids?: number[];
  /** A regressor's: the values (per step, for a sequence regressor). */
  readonly values?: number[] | number[][];
}

/** The result of {@link Model.evaluate}: the object `rnnc evaluate --json` prints. */
export interface Evaluation extends Metrics {
  /** The model's name. */
  readonly model: string;
  /** Optimizer updates the parameters had. */
  readonly step: number;
  /** What was evaluated: the data's validation split, its training split (a source without one), or the examples given. */
  readonly split: 'validation' | 'train' | 'examples';
  /** How many examples. */
  readonly examples: number;
  /** A model with decoders: the metrics when they read back their own greedy choices (the others: with the true tokens). */
  readonly greedy?: Metrics;
}

/** Options of {@link Model.toModule}: those of `rnnc compile`. */
export interface ModuleOptions {
  /** `forward` (inference only) or `train` (with the gradient and an optimizer step; default with a train block). */
  readonly target?: 'forward' | 'train';
  /** Unroll this many time steps instead of keeping the loops. */
  readonly unroll?: number;
  /** Sizes the data would fix (default: those of the trained or loaded model). */
  readonly dims?: Readonly<Record<string, number>>;
}

/** A trained model's state: the model bound to its data sizes, a session holding its parameters, what a checkpoint records. */
interface Trained {
  readonly model: LoweredModel;
  readonly config: TrainConfig;
  readonly session: TrainingSession;
  readonly extra: CheckpointExtra;
  readonly position: Position;
  readonly rng: Rng;
  readonly watch: Watch;
  /** The data it was trained on, when it was (evaluate() without data). */
  readonly data?: Dataset;
}

/**
 * A model of a compiled program. It is trained with {@link Model.fit} or
 * loaded from a checkpoint with {@link Model.load}; then it predicts,
 * evaluates, saves and becomes a module. Call {@link Model.dispose} to
 * release its tensors.
 */
export class Model {
  #trained: Trained | undefined;

  /** @internal Models come from {@link CompileResult.model}. */
  constructor(
    private readonly program: LoadedProgram,
    /** The model's name in the program. */
    readonly name: string,
    private readonly backend?: BackendName,
  ) {}

  /** True once the model has parameters (after `fit` or `load`). */
  get trained(): boolean {
    return this.#trained !== undefined;
  }

  /** The sizes of the model's dimensions, once trained or loaded (`V`, `H`, ...). */
  get dims(): Readonly<Record<string, number>> | undefined {
    return this.#trained ? { ...this.#trained.extra.dims } : undefined;
  }

  /**
   * Trains the model from fresh, seeded parameters, as `rnnc run` does, on
   * `data` (examples in memory, or a data source; default: the train block's
   * data). Resolves with the history once training ends.
   *
   * @param data - Examples `{ x, y }` in memory, or a data source; left out: the train block's data.
   * @param options - Settings over the train block's, callbacks, validation examples and a stop signal.
   * @throws {@link RnncError} (as a rejection) for data that does not fit the model, bad options, or a loss that became NaN.
   */
  fit(data?: Data, options: FitOptions = {}): Promise<History> {
    return guardAsync(() => this.#fit(data, options));
  }

  async #fit(data: Data | undefined, o: FitOptions): Promise<History> {
    const config = this.#config(o);
    let dataset: Dataset;
    let dataSpec: { name: string; args: Readonly<Record<string, number | string>> };
    if (data === undefined) {
      if (!config.data) throw new RnncError(`model ${this.name} has no train block that names its data: give fit() examples or a data source`);
      if (o.validation !== undefined) throw new RnncError('validation examples go with training examples in memory; the train block\'s data source has its own validation split');
      dataset = loadData(this.program, config);
      dataSpec = config.data;
    } else if (isSource(data)) {
      if (o.validation !== undefined) throw new RnncError('validation examples go with training examples in memory; a data source has its own validation split');
      dataset = sourceDataset(this.program, config, data);
      dataSpec = { name: data.source, args: { ...(data.args ?? {}) } };
    } else {
      dataset = examplesDataset(data, o.validation ?? []);
      dataSpec = IN_MEMORY;
    }
    const hasValidation = dataset.valid.length > 0;
    if (o.earlyStop && !hasValidation) throw new RnncError('earlyStop needs validation data: give fit() the option `validation` (examples to validate on)');
    await startBackend(this.backend);
    const model = modelForData(this.program, this.name, dataset);
    if (config.earlyStop?.on === 'val_accuracy' && model.loss !== 'cross_entropy') {
      throw new RnncError(`early stopping on val_accuracy needs a model scored by accuracy (a cross_entropy loss); model ${this.name} has an mse loss: watch val_loss`);
    }
    const trainModel = trainingModel(this.program, model, config);
    const extra = checkpointExtra(model, dataset, dataSpec);
    let session = newSession(trainModel, config);
    try {
      session.initParams(config.seed);
      const watch: Watch = { best: null, bestStep: 0, wait: 0 };
      const on = config.earlyStop?.on ?? 'val_loss';
      const epochs: EpochReport[] = [];
      const evalGraph = model.decoders.length > 0 || model.dropouts.length > 0 ? teacherGraph(model) : undefined;
      let sum = 0;
      let counted = 0;
      // The end of an epoch: its mean training loss, validation and early stopping.
      const endEpoch = async (epoch: number): Promise<boolean> => {
        const ev = hasValidation ? await evaluateSession(session, dataset, config.batch, evalGraph) : undefined;
        if (ev) observeValidation(watch, watchedValue(ev, on), on, config.earlyStop?.minDelta ?? 0, session.step);
        const report: EpochReport = { epoch: epoch + 1, step: session.step, loss: counted > 0 ? sum / counted : Number.NaN, ...(ev ? { validation: metrics(ev, dataset, extra.level) } : {}) };
        epochs.push(report);
        sum = 0;
        counted = 0;
        o.onEpoch?.(report);
        return config.earlyStop !== undefined && watch.wait >= config.earlyStop.patience;
      };
      const result = await trainLoop({
        session,
        examples: dataset.train,
        specs: batchSpecs(model, dataset),
        batchSize: config.batch,
        epochs: config.epochs,
        seed: config.seed,
        checkpointEvery: 0,
        save: () => undefined,
        shouldStop: () => o.signal?.aborted ?? false,
        onEpochEnd: (epoch) => endEpoch(epoch),
        onStep: (s) => {
          sum += s.loss * s.count;
          counted += s.count;
          o.onStep?.({ step: s.step, epoch: s.epoch + 1, batch: s.batchInEpoch, batchesPerEpoch: s.batchesPerEpoch, loss: s.loss, count: s.count });
        },
      });
      if (result.status === 'nonfinite') {
        throw new RnncError(`the loss became ${result.lastLoss} at step ${session.step + 1}; training stopped. Try a smaller learning rate, gradient clipping (\`clip norm 1.0\` in the train block), or check the data.`);
      }
      if (result.status === 'done') await endEpoch(config.epochs - 1);
      // Predictions and evaluation use the model as written (no dropout, decoders taught with the true tokens).
      const rng = new Rng(config.seed);
      if (trainModel !== model) {
        const ckpt = await session.checkpoint(result.position, rng, {});
        session.dispose();
        session = newSession(model, config);
        session.restore(ckpt, 'the trained parameters');
      }
      this.dispose();
      this.#trained = { model, config, session, extra, position: result.position, rng, watch, data: dataset };
      return {
        status: result.status === 'early-stop' ? 'early-stop' : result.status === 'stopped' ? 'stopped' : 'done',
        steps: session.step,
        epochs,
        ...(hasValidation ? { best: { on, value: watch.best, step: watch.bestStep } } : {}),
      };
    } catch (e) {
      session.dispose();
      throw e;
    }
  }

  /** The train block's settings (or the defaults without one) with the options on top. */
  #config(o: FitOptions): TrainConfig {
    const base: TrainConfig = settingsFor(this.program, this.name);
    const count = (v: number | undefined, what: string, min: number): number | undefined => {
      if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new RnncError(`fit(): ${what} must be a whole number from ${min}, not ${String(v)}`);
      return v;
    };
    const epochs = count(o.epochs, 'epochs', 1);
    const batch = count(o.batch, 'batch', 1);
    const seed = count(o.seed, 'seed', 0);
    let optimizer = base.optimizer;
    if (o.optimizer !== undefined) {
      const { name, ...args } = typeof o.optimizer === 'string' ? { name: o.optimizer } : o.optimizer;
      optimizer = { name, args, positional: [], span: syntheticSpan() };
    }
    let earlyStop = base.earlyStop;
    if (o.earlyStop === false) earlyStop = undefined;
    else if (o.earlyStop !== undefined) {
      const patience = count(o.earlyStop.patience, 'earlyStop.patience', 1)!;
      const on = o.earlyStop.on ?? 'val_loss';
      if (on !== 'val_loss' && on !== 'val_accuracy') throw new RnncError(`fit(): earlyStop.on must be 'val_loss' or 'val_accuracy', not ${JSON.stringify(on)}`);
      earlyStop = { patience, on, minDelta: o.earlyStop.minDelta ?? 0, span: syntheticSpan() };
    }
    const config: TrainConfig = { ...base, optimizer, ...(epochs !== undefined ? { epochs } : {}), ...(batch !== undefined ? { batch } : {}), ...(seed !== undefined ? { seed } : {}) };
    const { earlyStop: _drop, ...rest } = config;
    return earlyStop ? { ...rest, earlyStop } : rest;
  }

  /**
   * Loads the parameters of a checkpoint written by `rnnc run` or
   * {@link Model.save} (of this model). Resolves with the model itself.
   *
   * @param path - The checkpoint file.
   * @throws {@link RnncError} (as a rejection) for a missing or corrupt checkpoint, or one of another model.
   */
  load(path: string): Promise<Model> {
    return guardAsync(async () => {
      const ckpt = loadCheckpoint(nodeIO, path);
      if (ckpt.model !== this.name) throw new RnncError(`${path} is a checkpoint of model ${ckpt.model}, not ${this.name}`);
      const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
      if (!extra?.dims || !extra.vocabs) throw new RnncError(`${path} was not written by \`rnnc run\` or Model.save (it has no data dimensions)`);
      const model = bindModel(this.program, this.name, extra.dims);
      const base = this.program.analysis.trains.has(this.name) ? trainConfigFor(this.program, this.name) : this.#config({});
      await startBackend(this.backend);
      const session = newSession(model, base);
      try {
        session.restore(ckpt, path);
      } catch (e) {
        session.dispose();
        throw e;
      }
      this.dispose();
      const saved = extra['validation' as keyof CheckpointExtra] as unknown as Watch | undefined;
      this.#trained = {
        model,
        config: base,
        session,
        extra: { task: 'classification', level: 'char', ...extra } as CheckpointExtra,
        position: { epoch: ckpt.epoch, batchInEpoch: ckpt.batchInEpoch },
        rng: Rng.fromState(ckpt.rng),
        watch: saved && typeof saved.wait === 'number' ? saved : { best: null, bestStep: 0, wait: 0 },
      };
      return this;
    });
  }

  /**
   * Writes a checkpoint in the format of `rnnc run` (its folder is made if
   * missing); `rnnc predict --ckpt` and `rnnc evaluate --ckpt` read it. For
   * a model trained on examples in memory it names the `jsonl` source
   * without a path: `rnnc evaluate` then needs `--data-arg path=FILE`.
   *
   * @param path - The file to write (replaced if it exists).
   * @returns A promise that resolves once the file is written (the parameters are read from the backend asynchronously).
   */
  save(path: string): Promise<void> {
    return guardAsync(async () => {
      const t = this.#need('save');
      makeFolders(dirname(path));
      saveCheckpoint(nodeIO, path, await t.session.checkpoint(t.position, t.rng, { ...(t.extra as unknown as Record<string, unknown>), validation: { ...t.watch } }));
    });
  }

  /**
   * The model's outputs for new inputs: the results `rnnc predict --json`
   * prints, one per input. Token inputs may be text (in the vocabulary the
   * model was trained with) or ids.
   *
   * @param inputs - One entry per input: a value, or an object of values by input name.
   * @throws {@link RnncError} for an input that does not fit the model (naming `inputs[i]`).
   */
  predict(inputs: readonly PredictInput[]): Promise<Prediction[]> {
    return guardAsync(async () => {
      const t = this.#need('predict');
      if (!Array.isArray(inputs)) throw new RnncError('predict(inputs): give an array of inputs');
      if (t.model.targetAxis !== undefined) throw new RnncError(`model ${this.name} has a decoder that writes outputs of their own length: use \`rnnc translate\``);
      const reader = readerFor(t.model, t.extra, `model ${this.name}`);
      const names = t.model.inputs.map((s) => s.name);
      const examples = inputs.map((input, i) => {
        const plain = typeof input === 'object' && input !== null && !Array.isArray(input);
        if (!plain && names.length !== 1) throw new RnncError(`inputs[${i}]: model ${this.name} reads ${names.join(', ')}: give an object {${names.map((n) => `${n}: ...`).join(', ')}}`);
        const values = plain ? (input as Record<string, unknown>) : { [names[0]!]: input };
        return exampleFrom(t.model, reader.inVocabs, reader.inLevels, values, `inputs[${i}]`);
      });
      return (await predictExamples(t.session, reader, examples, t.config.batch)).map((p, i) => ({ input: inputs[i]!, ...p.json }) as Prediction);
    });
  }

  /**
   * The model's metrics on `data` (examples, or a data source), as `rnnc
   * evaluate --json` reports them; without data: the validation split of the
   * data it was trained on (for a loaded model, the data its checkpoint
   * names).
   *
   * @param data - Examples `{ x, y }` (all of them are evaluated), or a data source (its validation split).
   */
  evaluate(data?: Data): Promise<Evaluation> {
    return guardAsync(async () => {
      const t = this.#need('evaluate');
      let split: Dataset;
      let which: Evaluation['split'];
      if (data === undefined) {
        if (!t.data && !t.extra.data) throw new RnncError(`the checkpoint of model ${this.name} names no data: give evaluate() examples or a data source`);
        const positional = (t.extra.data as { positional?: (number | string)[] }).positional ?? [];
        if (!t.data && t.extra.data.name === IN_MEMORY.name && t.extra.data.args['path'] === undefined && positional.length === 0) {
          throw new RnncError(`model ${this.name} was trained on examples in memory, which its checkpoint does not hold: give evaluate() the examples`);
        }
        split = t.data ?? inCheckpointVocabs(fieldsAsDeclared(declaredFields(t.model), loadData(this.program, { ...t.config, data: { ...t.extra.data, positional, span: t.config.span } })), t.extra.vocabs, `model ${this.name}`);
        which = split.valid.length > 0 ? 'validation' : 'train';
      } else {
        const raw = isSource(data) ? sourceDataset(this.program, t.config, data) : examplesDataset(data, []);
        split = inCheckpointVocabs(fieldsAsDeclared(declaredFields(t.model), raw), t.extra.vocabs, `model ${this.name}`);
        which = isSource(data) ? (split.valid.length > 0 ? 'validation' : 'train') : 'examples';
      }
      const decoders = t.model.decoders.length > 0;
      const ev = await evaluateSession(t.session, split, t.config.batch, decoders ? teacherGraph(t.model) : undefined);
      const greedy = decoders ? await evaluateSession(t.session, split, t.config.batch, greedyGraph(this.program, t.model)) : undefined;
      return {
        model: this.name,
        step: t.session.step,
        split: which,
        examples: (split.valid.length > 0 ? split.valid : split.train).length,
        ...metrics(ev, split, t.extra.level),
        ...(greedy ? { greedy: metrics(greedy, split, t.extra.level) } : {}),
      };
    });
  }

  /**
   * The model as a standalone TypeScript module: the text `rnnc compile`
   * writes, with the trained model's sizes.
   *
   * @param options - The target, unrolling, and sizes for a model not trained yet.
   */
  toModule(options: ModuleOptions = {}): Promise<string> {
    return guardAsync(async () => {
      const dims: Record<string, number> = Object.create(null);
      Object.assign(dims, this.#trained?.extra.dims ?? {}, options.dims ?? {});
      const { code } = await moduleText(this.program, loadStdlib(), this.name, dims, options, {
        sink: () => undefined,
        howToGive: (unbound) => `train or load the model first, or give ${unbound.length > 1 ? 'them' : 'it'} as toModule({ dims: { ${unbound.map((d) => `${d}: ...`).join(', ')} } })`,
      });
      return code;
    });
  }

  /** Releases the model's parameters (tfjs tensors); it can be trained or loaded again. */
  dispose(): void {
    this.#trained?.session.dispose();
    this.#trained = undefined;
  }

  #need(what: string): Trained {
    if (!this.#trained) throw new RnncError(`model ${this.name} has no parameters to ${what} with: train it with fit() or load a checkpoint with load()`);
    return this.#trained;
  }
}

/** An evaluation's metrics as the API reports them (those of `rnnc evaluate --json`). */
function metrics(ev: EvalResult, data: Dataset, level: 'char' | 'word'): Metrics {
  return evalJson(ev, data, level) as unknown as Metrics;
}
