// Choosing outputs from a decoder's scores: log-probabilities, GNMT's length
// penalty and beam search, written over a function that scores hypotheses,
// so that `rnnc translate` (src/commands/translate.ts, on a TrainingSession)
// and compiled modules (compiler/codegen/module.ts, on their own forward)
// run this same code: emitted modules carry its text
// (compiler/codegen/portable.generated.ts). Plain TypeScript: no tfjs.

/** Log-softmax of each row of [rows, k] scores, in float64. */
export function logSoftmaxRows(x: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += k) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, x[r + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(x[r + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < k; j++) out[r + j] = x[r + j]! - lse;
  }
  return out;
}

/** GNMT's length penalty ((5 + n) / 6)^alpha (Wu et al. 2016): a score divided by it favours longer outputs as alpha grows. */
export function lengthPenalty(n: number, alpha: number): number {
  return Math.pow((5 + n) / 6, alpha);
}

/** A partial output of beam search: its tokens, their log-probability, and whether it has ended. */
interface BeamHypothesis {
  readonly tokens: number[];
  readonly logProb: number;
  readonly done: boolean;
}

/** The hypotheses one step scores: which input each extends, and its tokens so far. */
export interface BeamRow {
  readonly source: number;
  readonly tokens: readonly number[];
}

/** What one step of beam search asks for: the decoder's scores of these rows at step t. */
export interface BeamStep {
  readonly rows: readonly BeamRow[];
  readonly t: number;
}

/** The decoder's scores [rows.length, k] of a BeamStep's rows. */
export interface BeamScores {
  readonly data: ArrayLike<number>;
  readonly k: number;
}

/** What beam search returns for each input: the best output's tokens and log-probability. */
export interface BeamBest {
  tokens: number[];
  logProb: number;
}

/**
 * Beam search over `count` inputs, keeping `width` hypotheses each; at most
 * `lengths[i]` tokens for input i, ending a hypothesis at `end` when given.
 * Each step yields the rows to score (each row's input, and the tokens it
 * reads back) and takes their scores [rows.length, K] at that step; all
 * inputs' open hypotheses share each step. Scores are divided by
 * lengthPenalty(length, alpha). Ties go to the earlier candidate (the
 * earlier hypothesis, the smaller token id), as an argmax does, so width 1
 * is greedy decoding. beamSearchWith and beamSearchWithAsync drive it with a
 * scoring function that answers at once or later (reading a GPU).
 */
export function* beamSearchSteps(
  count: number,
  width: number,
  limits: { readonly lengths: readonly number[]; readonly end?: number; readonly alpha?: number },
): Generator<BeamStep, BeamBest[], BeamScores> {
  const alpha = limits.alpha ?? 0;
  const score = (h: BeamHypothesis): number => h.logProb / lengthPenalty(h.tokens.length + (h.done ? 1 : 0), alpha);
  const beams: BeamHypothesis[][] = Array.from({ length: count }, () => [{ tokens: [], logProb: 0, done: false }]);
  const maxLen = Math.max(0, ...limits.lengths);
  for (let t = 0; t < maxLen; t++) {
    const rows: { source: number; hyp: number; tokens: readonly number[] }[] = [];
    beams.forEach((hs, e) => {
      if (t < limits.lengths[e]!) hs.forEach((h, i) => !h.done && rows.push({ source: e, hyp: i, tokens: h.tokens }));
    });
    if (rows.length === 0) break;
    const { data, k: K } = yield { rows, t };
    const lp = logSoftmaxRows(data, K);
    const candidates = new Map<number, BeamHypothesis[]>();
    rows.forEach((r, i) => {
      const h = beams[r.source]![r.hyp]!;
      const list = candidates.get(r.source) ?? beams[r.source]!.filter((x) => x.done);
      for (let k = 0; k < K; k++) {
        const logProb = h.logProb + lp[i * K + k]!;
        list.push(k === limits.end ? { tokens: h.tokens, logProb, done: true } : { tokens: [...h.tokens, k], logProb, done: false });
      }
      candidates.set(r.source, list);
    });
    for (const [e, list] of candidates) {
      beams[e] = list
        .map((c, i) => ({ c, i }))
        .sort((a, b) => score(b.c) - score(a.c) || a.i - b.i)
        .slice(0, width)
        .map((x) => x.c);
    }
  }
  return beams.map((hs) => {
    const best = [...hs].sort((a, b) => score(b) - score(a))[0]!;
    return { tokens: best.tokens, logProb: best.logProb };
  });
}

/** beamSearchSteps with a scoring function that answers at once: `scores(rows, t)`. */
export function beamSearchWith(
  count: number,
  width: number,
  limits: { readonly lengths: readonly number[]; readonly end?: number; readonly alpha?: number },
  scores: (rows: readonly BeamRow[], t: number) => BeamScores,
): BeamBest[] {
  const steps = beamSearchSteps(count, width, limits);
  for (let r = steps.next(); ; ) {
    if (r.done) return r.value;
    r = steps.next(scores(r.value.rows, r.value.t));
  }
}

/** beamSearchSteps with a scoring function that answers later (a GPU read: `await t.data()`). */
export async function beamSearchWithAsync(
  count: number,
  width: number,
  limits: { readonly lengths: readonly number[]; readonly end?: number; readonly alpha?: number },
  scores: (rows: readonly BeamRow[], t: number) => Promise<BeamScores>,
): Promise<BeamBest[]> {
  const steps = beamSearchSteps(count, width, limits);
  for (let r = steps.next(); ; ) {
    if (r.done) return r.value;
    r = steps.next(await scores(r.value.rows, r.value.t));
  }
}
