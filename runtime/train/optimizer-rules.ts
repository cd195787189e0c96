// The argument rules of the optimizers, without tfjs: their names, arguments
// with defaults, valid ranges and the messages for mistakes, and their slots.
// runtime/train/optimizers.ts adds the update of each (tfjs ops);
// src/train-settings.ts checks a train block's optimizer with these rules
// alone, so `rnnc check` loads no tfjs. The defaults follow Keras (see
// optimizers.ts for the update rules).
import { RuntimeUserError } from '../io.js';

export interface OptimizerSpec {
  name: string;
  args: Readonly<Record<string, number>>;
}

/** Bound arguments of an optimizer: every argument, defaults filled in. */
export type Hyper = Readonly<Record<string, number>>;

export interface OptimizerRule {
  readonly defaults: Readonly<Record<string, number>>;
  readonly slotNames: readonly string[];
  /** Range checks of the optimizer's own arguments (`lr` and `eps` are checked for all); an error text or null. */
  readonly check: (h: Hyper) => string | null;
  /** Initial value of a slot (all slots start at a constant). */
  readonly slotInit: (slot: string, h: Hyper) => number;
}

const unit = (x: number): boolean => x >= 0 && x < 1;

export const OPTIMIZER_RULES: Readonly<Record<string, OptimizerRule>> = {
  sgd: {
    defaults: { lr: 0.01 },
    slotNames: [],
    check: () => null,
    slotInit: () => 0,
  },
  momentum: {
    defaults: { lr: 0.01, momentum: 0.9, nesterov: 0 },
    slotNames: ['velocity'],
    check: (h) =>
      !unit(h['momentum']!)
        ? `'momentum' must be in [0, 1), got ${h['momentum']}`
        : h['nesterov'] !== 0 && h['nesterov'] !== 1
          ? `'nesterov' must be 0 or 1, got ${h['nesterov']}`
          : null,
    slotInit: () => 0,
  },
  rmsprop: {
    defaults: { lr: 0.001, rho: 0.9, eps: 1e-7 },
    slotNames: ['ms'],
    check: (h) => (!unit(h['rho']!) ? `'rho' must be in [0, 1), got ${h['rho']}` : null),
    slotInit: () => 0,
  },
  adam: {
    defaults: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    slotNames: ['m', 'v'],
    check: (h) =>
      !unit(h['beta1']!)
        ? `'beta1' must be in [0, 1), got ${h['beta1']}`
        : !unit(h['beta2']!)
          ? `'beta2' must be in [0, 1), got ${h['beta2']}`
          : null,
    slotInit: () => 0,
  },
  adagrad: {
    defaults: { lr: 0.001, initial: 0.1, eps: 1e-7 },
    slotNames: ['accumulator'],
    check: (h) => (h['initial']! < 0 ? `'initial' must be >= 0, got ${h['initial']}` : null),
    slotInit: (_slot, h) => h['initial']!,
  },
};

export const OPTIMIZER_NAMES: readonly string[] = Object.keys(OPTIMIZER_RULES);

/** The rule of a named optimizer; an unknown name is a RuntimeUserError listing the known ones. */
export function optimizerRule(name: string): OptimizerRule {
  const rule = Object.prototype.hasOwnProperty.call(OPTIMIZER_RULES, name) ? OPTIMIZER_RULES[name] : undefined;
  if (rule === undefined) throw new RuntimeUserError(`unknown optimizer '${name}' (known: ${OPTIMIZER_NAMES.join(', ')})`);
  return rule;
}

/** The optimizer's arguments bound to its defaults and checked; every mistake (name, argument, value) is a RuntimeUserError. */
export function bindOptimizerArgs(spec: OptimizerSpec): Hyper {
  const rule = optimizerRule(spec.name);
  const valid = Object.keys(rule.defaults);
  const h: Record<string, number> = { ...rule.defaults };
  for (const [name, value] of Object.entries(spec.args)) {
    if (!valid.includes(name)) {
      throw new RuntimeUserError(`optimizer ${spec.name}: unknown argument '${name}' (valid arguments: ${valid.join(', ')})`);
    }
    if (!Number.isFinite(value)) {
      throw new RuntimeUserError(`optimizer ${spec.name}: argument '${name}' must be a finite number, got ${value}`);
    }
    h[name] = value;
  }
  const problem = !(h['lr']! > 0) ? `'lr' must be > 0, got ${h['lr']}` : 'eps' in h && !(h['eps']! > 0) ? `'eps' must be > 0, got ${h['eps']}` : rule.check(h);
  if (problem !== null) throw new RuntimeUserError(`optimizer ${spec.name}: ${problem}`);
  return h;
}
