// Learning-rate schedules: pure functions from the optimizer's step count
// (0 for the first update) to a learning rate, evaluated on the CPU once per
// step. They depend only on the step, so resuming from a checkpoint (which
// stores the step) gives back exactly the same rates.
//
//   constant               lr
//   step(every, gamma=0.1) lr * gamma^floor(s / every)
//   exponential(gamma, decay_steps=1)
//                          lr * gamma^(s / decay_steps)   (smooth, as Keras's
//                          ExponentialDecay without staircase)
//   cosine(steps, min_lr=0)
//                          min_lr + (lr - min_lr) * (1 + cos(pi * min(s, steps) / steps)) / 2
//
// Every schedule also takes `warmup=W` (default 0): for s < W the rate ramps
// linearly as lr * (s + 1) / W (never 0, so the first step moves), and the
// schedule proper then runs on s - W, so its decay starts after warm-up.
import { RuntimeUserError } from '../io.js';

export interface ScheduleSpec {
  name: string;
  args: Record<string, number>;
}

type Decay = (step: number) => number;

interface ScheduleDef {
  /** Arguments with defaults; `undefined` means required. `warmup` is added to all. */
  readonly args: Readonly<Record<string, number | undefined>>;
  /** Checks argument values and returns the decay function (warm-up excluded). */
  readonly make: (a: Readonly<Record<string, number>>, baseLr: number) => Decay;
}

function need(cond: boolean, schedule: string, message: string): void {
  if (!cond) throw new RuntimeUserError(`learning-rate schedule ${schedule}: ${message}`);
}

const SCHEDULES: Readonly<Record<string, ScheduleDef>> = {
  constant: {
    args: {},
    make: (_a, lr) => () => lr,
  },
  step: {
    args: { every: undefined, gamma: 0.1 },
    make: (a, lr) => {
      const every = a['every']!;
      const gamma = a['gamma']!;
      need(Number.isInteger(every) && every >= 1, 'step', `'every' must be a positive integer, got ${every}`);
      need(gamma > 0, 'step', `'gamma' must be > 0, got ${gamma}`);
      return (s) => lr * Math.pow(gamma, Math.floor(s / every));
    },
  },
  exponential: {
    args: { gamma: undefined, decay_steps: 1 },
    make: (a, lr) => {
      const gamma = a['gamma']!;
      const decaySteps = a['decay_steps']!;
      need(gamma > 0, 'exponential', `'gamma' must be > 0, got ${gamma}`);
      need(decaySteps > 0, 'exponential', `'decay_steps' must be > 0, got ${decaySteps}`);
      return (s) => lr * Math.pow(gamma, s / decaySteps);
    },
  },
  cosine: {
    args: { steps: undefined, min_lr: 0 },
    make: (a, lr) => {
      const steps = a['steps']!;
      const minLr = a['min_lr']!;
      need(Number.isInteger(steps) && steps >= 1, 'cosine', `'steps' must be a positive integer, got ${steps}`);
      need(minLr >= 0, 'cosine', `'min_lr' must be >= 0, got ${minLr}`);
      return (s) => minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * Math.min(s, steps)) / steps))) / 2;
    },
  },
};

export const SCHEDULE_NAMES: readonly string[] = Object.keys(SCHEDULES);

/** Builds the schedule; every user mistake (name, argument, value) is a RuntimeUserError. */
export function makeSchedule(spec: ScheduleSpec, baseLr: number): (step: number) => number {
  const def = Object.prototype.hasOwnProperty.call(SCHEDULES, spec.name) ? SCHEDULES[spec.name] : undefined;
  if (def === undefined) {
    throw new RuntimeUserError(
      `unknown learning-rate schedule '${spec.name}' (known: ${SCHEDULE_NAMES.join(', ')})`,
    );
  }
  if (!(Number.isFinite(baseLr) && baseLr > 0)) {
    throw new RuntimeUserError(`learning rate must be a positive finite number, got ${baseLr}`);
  }
  const valid = [...Object.keys(def.args), 'warmup'];
  const bound: Record<string, number> = Object.create(null);
  for (const [name, value] of Object.entries(spec.args)) {
    if (!valid.includes(name)) {
      throw new RuntimeUserError(
        `learning-rate schedule ${spec.name}: unknown argument '${name}' (valid arguments: ${valid.join(', ')})`,
      );
    }
    need(Number.isFinite(value), spec.name, `argument '${name}' must be a finite number, got ${value}`);
    bound[name] = value;
  }
  for (const [name, dflt] of Object.entries(def.args)) {
    if (name in bound) continue;
    need(dflt !== undefined, spec.name, `missing required argument '${name}'`);
    bound[name] = dflt!;
  }
  const warmup = bound['warmup'] ?? 0;
  need(Number.isInteger(warmup) && warmup >= 0, spec.name, `'warmup' must be a non-negative integer, got ${warmup}`);
  const decay = def.make(bound, baseLr);
  return (step: number): number => {
    if (!(Number.isInteger(step) && step >= 0)) {
      // The trainer passes the optimizer's step count; anything else is a bug.
      throw new Error(`internal: schedule step must be a non-negative integer, got ${step}`);
    }
    if (step < warmup) return (baseLr * (step + 1)) / warmup;
    return decay(step - warmup);
  };
}
