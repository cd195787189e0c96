// Train blocks: from settings to a checked TrainConfig. Names of data
// sources, optimizers and schedules are checked by the runtime that owns
// them (it knows their arguments); this checks the block's structure.
import type { Call, Expr, TrainDecl, TrainSetting } from '../ast/ast.js';
import type { DiagnosticCollector } from '../diagnostics/collector.js';
import { recover } from '../diagnostics/collector.js';
import type { Span } from '../diagnostics/span.js';
import { didYouMean } from './suggest.js';
import { numberOf } from './values.js';
import type { FeedMode } from './cell.js';

export interface CallSpec {
  readonly name: string;
  readonly args: Readonly<Record<string, number | string>>;
  readonly positional: readonly (number | string)[];
  readonly span: Span;
}

export type BpttSpec = { readonly kind: 'full' } | { readonly kind: 'truncated'; readonly k1: number; readonly k2: number };

/** The decays of scheduled sampling (Bengio et al. 2015): the probability of feeding the true token at update i. */
export type FeedDecay =
  | { readonly kind: 'linear'; readonly k: number; readonly c: number; readonly eps: number } // max(eps, k - c i)
  | { readonly kind: 'exponential'; readonly k: number } // k^i, 0 < k < 1
  | { readonly kind: 'inverse_sigmoid'; readonly k: number }; // k / (k + exp(i / k)), k >= 1

/** `feed teacher | sampled(draw = ...) | scheduled(decay = ..., ...)`: what decoders read back while training. */
export interface FeedSpec {
  readonly mode: FeedMode;
  readonly decay?: FeedDecay;
  readonly span: Span;
}

export interface TrainConfig {
  readonly model: string;
  readonly data?: CallSpec;
  readonly optimizer: CallSpec;
  readonly schedule?: CallSpec;
  readonly clip?: { readonly mode: 'norm' | 'value'; readonly value: number };
  readonly bptt: BpttSpec;
  readonly batch: number;
  readonly epochs: number;
  readonly seed: number;
  /** Write a checkpoint every this many steps (0: only at the end and on interrupt). */
  readonly checkpoint: number;
  /** Stop when the validation metric has not improved for a number of epochs (the best checkpoint is kept either way). */
  readonly earlyStop?: EarlyStopSpec;
  /** `validate 200`: also validate every this many optimizer steps (always after each epoch). */
  readonly validateEvery?: number;
  /** What decoders read back while training (absent: the true tokens, teacher forcing). */
  readonly feed?: FeedSpec;
  readonly span: Span;
}

const KEYS = ['data', 'optimizer', 'schedule', 'clip', 'bptt', 'feed', 'early_stop', 'validate', 'batch', 'epochs', 'seed', 'checkpoint'];

/** What early stopping watches: the validation loss (lower is better) or accuracy (higher is better). */
export const EARLY_STOP_ON = ['val_loss', 'val_accuracy'] as const;

/** `early_stop(patience = 5, on = val_loss, min_delta = 0)`: stop after `patience` epochs without an improvement larger than min_delta. */
export interface EarlyStopSpec {
  readonly patience: number;
  readonly on: (typeof EARLY_STOP_ON)[number];
  readonly minDelta: number;
  readonly span: Span;
}

export function checkTrain(decl: TrainDecl, diags: DiagnosticCollector): TrainConfig {
  const seen = new Map<string, Span>();
  let data: CallSpec | undefined;
  let optimizer: CallSpec = { name: 'adam', args: {}, positional: [], span: decl.span };
  let schedule: CallSpec | undefined;
  let clip: TrainConfig['clip'];
  let bptt: BpttSpec = { kind: 'full' };
  let batch = 32;
  let epochs = 1;
  let seed = 0;
  let checkpoint = 0;
  let feed: FeedSpec | undefined;
  let earlyStop: EarlyStopSpec | undefined;
  let validate: number | undefined;

  const apply = (s: TrainSetting): void => {
    const key = s.key.name;
    if (!KEYS.includes(key)) {
      const hint = didYouMean(key, KEYS) ?? `settings: ${KEYS.join(', ')}`;
      diags.fail('RNN5002', s.key.span, `unknown training setting \`${key}\``, { hint });
    }
    const prev = seen.get(key);
    if (prev) diags.fail('RNN5002', s.key.span, `\`${key}\` is set twice`, { notes: [{ message: 'first set here', span: prev }] });
    seen.set(key, s.span);
    switch (key) {
      case 'data':
        data = callSpec(s.value, diags, 'a data source, e.g. `data brown_chars(seq_len = 100)`');
        break;
      case 'optimizer':
        optimizer = namedOnly(callSpec(s.value, diags, 'an optimizer, e.g. `optimizer adam(lr = 1e-3)`'), diags);
        break;
      case 'schedule':
        schedule = namedOnly(callSpec(s.value, diags, 'a schedule, e.g. `schedule cosine(steps = 1000)`'), diags);
        break;
      case 'clip': {
        const mode = s.mode?.name;
        if (mode !== 'norm' && mode !== 'value') {
          diags.fail('RNN5002', s.mode?.span ?? s.span, 'write `clip norm 5.0` (global norm) or `clip value 1.0` (each element)');
        }
        clip = { mode, value: positive(s.value, diags, 'the clipping threshold') };
        break;
      }
      case 'bptt': {
        if (s.value.kind === 'NameRef' && s.value.name.name === 'full') break;
        const c = callSpec(s.value, diags, '`bptt full` or `bptt truncated(k1 = 20, k2 = 40)`');
        if (c.name !== 'truncated') diags.fail('RNN5002', s.value.span, 'write `bptt full` or `bptt truncated(k1 = 20, k2 = 40)`');
        const k1 = c.args['k1'] ?? c.positional[0];
        const k2 = c.args['k2'] ?? c.positional[1] ?? k1;
        for (const k of Object.keys(c.args)) {
          if (k !== 'k1' && k !== 'k2') diags.fail('RNN5002', c.span, `truncated(...) takes k1 and k2, not \`${k}\``);
        }
        if (typeof k1 !== 'number' || typeof k2 !== 'number' || !isCount(k1) || !isCount(k2)) {
          diags.fail('RNN5002', c.span, 'k1 and k2 must be whole numbers of steps, at least 1');
        }
        if (k2 < k1) {
          diags.report('RNN5003', c.span, `k2 = ${k2} is smaller than k1 = ${k1}`, {
            hint: 'positions more than k2 steps before the end of a window then learn only through paths that do not cross the recurrence',
          });
        }
        bptt = { kind: 'truncated', k1, k2 };
        break;
      }
      case 'feed':
        feed = feedSpec(s.value, diags);
        break;
      case 'early_stop':
        earlyStop = earlyStopSpec(s.value, diags);
        break;
      case 'validate':
        validate = count(s.value, diags, 'the validation interval (optimizer steps)');
        break;
      case 'batch':
        batch = count(s.value, diags, 'the batch size');
        break;
      case 'epochs':
        epochs = count(s.value, diags, 'the number of epochs');
        break;
      case 'seed':
        seed = whole(s.value, diags, 'the seed');
        break;
      case 'checkpoint':
        checkpoint = whole(s.value, diags, 'the checkpoint interval (steps)');
        break;
    }
  };
  for (const s of decl.settings) recover(() => apply(s));
  return {
    ...(earlyStop ? { earlyStop } : {}),
    ...(validate !== undefined ? { validateEvery: validate } : {}),
    model: decl.model.name,
    ...(data ? { data } : {}),
    optimizer,
    ...(schedule ? { schedule } : {}),
    ...(clip ? { clip } : {}),
    bptt,
    batch,
    epochs,
    seed,
    checkpoint,
    ...(feed ? { feed } : {}),
    span: decl.span,
  };
}

const FEED_FORM = '`feed teacher`, `feed sampled`, `feed sampled(draw = argmax)` or `feed scheduled(decay = inverse_sigmoid, k = 100)`';
const DECAYS = ['linear', 'exponential', 'inverse_sigmoid'];

/** Checks `feed teacher | sampled(draw = sample|argmax) | scheduled(decay = ..., k = ..., c = ..., eps = ..., draw = ...)`. */
function feedSpec(e: Expr, diags: DiagnosticCollector): FeedSpec {
  const c = callSpec(e, diags, FEED_FORM);
  const allow = (keys: readonly string[]): void => {
    for (const k of Object.keys(c.args)) {
      if (!keys.includes(k)) diags.fail('RNN5002', c.span, `\`${c.name}\` takes ${keys.map((x) => `\`${x}\``).join(', ') || 'no arguments'}, not \`${k}\``);
    }
    if (c.positional.length > 0) diags.fail('RNN5002', c.span, `give the arguments of \`${c.name}\` by name`, { hint: FEED_FORM });
  };
  const draw = (): 'argmax' | 'sample' => {
    const d = c.args['draw'] ?? 'sample';
    if (d !== 'argmax' && d !== 'sample') diags.fail('RNN5002', c.span, '`draw` is `sample` (from the model\'s distribution) or `argmax` (its most likely token)');
    return d;
  };
  const num = (k: string, dflt?: number): number => {
    const v = c.args[k] ?? dflt;
    if (typeof v !== 'number') diags.fail('RNN5002', c.span, `\`${c.name}\` needs a number \`${k}\``, { hint: FEED_FORM });
    return v;
  };
  switch (c.name) {
    case 'teacher':
      allow([]);
      return { mode: { kind: 'teacher' }, span: e.span };
    case 'sampled':
      allow(['draw']);
      return { mode: { kind: 'own', draw: draw() }, span: e.span };
    case 'scheduled': {
      const decay = c.args['decay'];
      if (typeof decay !== 'string' || !DECAYS.includes(decay)) {
        diags.fail('RNN5002', c.span, `\`scheduled\` needs \`decay = linear\`, \`exponential\` or \`inverse_sigmoid\``, {
          ...(typeof decay === 'string' ? { hint: didYouMean(decay, DECAYS) ?? 'the three decays of Bengio et al. 2015' } : {}),
        });
      }
      let d: FeedDecay;
      if (decay === 'linear') {
        allow(['decay', 'k', 'c', 'eps', 'draw']);
        d = { kind: 'linear', k: num('k', 1), c: num('c'), eps: num('eps', 0) };
        const bad = [
          ...(d.k > 0 && d.k <= 1 ? [] : [`0 < k <= 1 (got k = ${d.k})`]),
          ...(d.c > 0 ? [] : [`c > 0 (got c = ${d.c})`]),
          ...(d.eps >= 0 && d.eps <= 1 ? [] : [`0 <= eps <= 1 (got eps = ${d.eps})`]),
        ];
        if (bad.length > 0) {
          diags.fail('RNN5002', c.span, `linear decay needs ${bad.join(' and ')}`, {
            hint: 'the probability of the true token at update i is max(eps, k - c i): k = 1 starts with teacher forcing, c is how fast it falls, eps its floor (e.g. `scheduled(decay = linear, k = 1, c = 1e-4, eps = 0.1)`)',
          });
        }
      } else if (decay === 'exponential') {
        allow(['decay', 'k', 'draw']);
        d = { kind: 'exponential', k: num('k') };
        if (!(d.k > 0 && d.k < 1)) {
          diags.fail('RNN5002', c.span, `exponential decay needs 0 < k < 1, got k = ${d.k}`, { hint: 'the probability of the true token at update i is k^i: k close to 1 (e.g. 0.999) falls slowly' });
        }
      } else {
        allow(['decay', 'k', 'draw']);
        d = { kind: 'inverse_sigmoid', k: num('k') };
        if (!(d.k >= 1)) {
          diags.fail('RNN5002', c.span, `inverse sigmoid decay needs k >= 1, got k = ${d.k}`, { hint: 'the probability of the true token at update i is k / (k + exp(i / k)): a larger k keeps it near 1 longer (e.g. k = 100)' });
        }
      }
      return { mode: { kind: 'scheduled', draw: draw() }, decay: d, span: e.span };
    }
    default:
      return diags.fail('RNN5002', c.span, `unknown feed \`${c.name}\``, { hint: didYouMean(c.name, ['teacher', 'sampled', 'scheduled']) ?? FEED_FORM });
  }
}

function isCount(n: number): boolean {
  return Number.isInteger(n) && n >= 1;
}

function count(e: Expr, diags: DiagnosticCollector, what: string): number {
  const n = numberOf(e);
  if (n === undefined || !isCount(n)) diags.fail('RNN5002', e.span, `${what} must be a whole number, at least 1`);
  return n;
}

function whole(e: Expr, diags: DiagnosticCollector, what: string): number {
  const n = numberOf(e);
  if (n === undefined || !Number.isInteger(n) || n < 0) diags.fail('RNN5002', e.span, `${what} must be a whole number`);
  return n;
}

function positive(e: Expr, diags: DiagnosticCollector, what: string): number {
  const n = numberOf(e);
  if (n === undefined || !(n > 0)) diags.fail('RNN5002', e.span, `${what} must be a positive number`);
  return n;
}

function callSpec(e: Expr, diags: DiagnosticCollector, expected: string): CallSpec {
  if (e.kind === 'NameRef' && !e.index) return { name: e.name.name, args: Object.create(null) as Record<string, number | string>, positional: [], span: e.span };
  if (e.kind !== 'Call') return diags.fail('RNN5002', e.span, `expected ${expected}`);
  const args: Record<string, number | string> = Object.create(null);
  const positional: (number | string)[] = [];
  for (const a of (e as Call).args) {
    const v = argValue(a.value);
    if (v === undefined) diags.fail('RNN5002', a.value.span, 'arguments here are numbers, names or "strings"');
    if (a.name && a.name.name in args) diags.fail('RNN5002', a.span, `\`${a.name.name}\` is given twice`, { hint: 'give each argument once' });
    if (a.name) args[a.name.name] = v;
    else positional.push(v);
  }
  return { name: e.callee.name, args, positional, span: e.span };
}

function namedOnly(c: CallSpec, diags: DiagnosticCollector): CallSpec {
  if (c.positional.length > 0) {
    diags.fail('RNN5002', c.span, `give the arguments of \`${c.name}\` by name`, { hint: `e.g. ${c.name}(lr = ${c.positional[0]})` });
  }
  return c;
}

function argValue(e: Expr): number | string | undefined {
  const n = numberOf(e);
  if (n !== undefined) return n;
  if (e.kind === 'StringLit') return e.value;
  if (e.kind === 'NameRef' && !e.index) return e.name.name;
  return undefined;
}

const EARLY_STOP_FORM = '`early_stop val_loss(patience = 5)` or `early_stop val_accuracy(patience = 3, min_delta = 0.001)`';

/** `early_stop val_loss(patience = 5, min_delta = 0)`: the metric watched, as the settings `optimizer adam(...)` and `feed scheduled(...)` name theirs. */
function earlyStopSpec(e: Expr, diags: DiagnosticCollector): EarlyStopSpec {
  const c = callSpec(e, diags, EARLY_STOP_FORM);
  if (!(EARLY_STOP_ON as readonly string[]).includes(c.name)) {
    diags.fail('RNN5002', c.span, `early_stop watches ${EARLY_STOP_ON.map((x) => `\`${x}\``).join(' or ')}, not \`${c.name}\``, { hint: didYouMean(c.name, EARLY_STOP_ON) ?? EARLY_STOP_FORM });
  }
  for (const k of Object.keys(c.args)) {
    if (!['patience', 'min_delta'].includes(k)) diags.fail('RNN5002', c.span, `early_stop takes \`patience\` and \`min_delta\`, not \`${k}\``, { hint: EARLY_STOP_FORM });
  }
  if (c.positional.length > 0) diags.fail('RNN5002', c.span, 'give the arguments of early_stop by name', { hint: EARLY_STOP_FORM });
  const patience = c.args['patience'] ?? 5;
  if (typeof patience !== 'number' || !isCount(patience)) diags.fail('RNN5002', c.span, `early_stop: patience must be a whole number of epochs, at least 1, got ${String(patience)}`, { hint: EARLY_STOP_FORM });
  const minDelta = c.args['min_delta'] ?? 0;
  if (typeof minDelta !== 'number' || !(minDelta >= 0)) diags.fail('RNN5002', c.span, `early_stop: min_delta must be a number of at least 0, got ${String(minDelta)}`, { hint: EARLY_STOP_FORM });
  return { patience, on: c.name as EarlyStopSpec['on'], minDelta, span: e.span };
}
