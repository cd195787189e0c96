// What the benchmark measures: the cells, the sizes of issue 4, the two
// kinds of input (token ids, or real-valued features where no lookup is
// possible) and the FLOP counts. Shared by every implementation so that all
// columns of one row describe the same work.
//
// FLOPs (issue 10): every GFLOP/s figure counts the matrix products an
// implementation actually runs. rnnc's are counted from its training graph
// (bench/flops.ts); the others' from their layer structure by `layerFlops`
// below. `trainingFlops` (issue 4's formula, which counts the one-hot input
// products rnnc replaces by lookups) is kept only as a reference figure.

export type CellKind = 'rnn' | 'lstm' | 'gru';

/** tokens: `seq<token[X]>` (rnnc: one_hot(x), a lookup); dense: `seq<[X]>` features, the full input product everywhere. */
export type InputKind = 'tokens' | 'dense';
export const INPUTS: readonly InputKind[] = ['tokens', 'dense'];
export const CELLS: readonly CellKind[] = ['rnn', 'lstm', 'gru'];

/** Gate blocks per cell: how many [H] pre-activations one step computes (G in the FLOP formula). */
export const GATES: Readonly<Record<CellKind, number>> = { rnn: 1, lstm: 4, gru: 3 };

export interface BenchShape {
  /** batch */
  readonly B: number;
  /** sequence length */
  readonly T: number;
  /** input width: vocabulary of the input tokens, or number of input features */
  readonly X: number;
  /** hidden units */
  readonly H: number;
  /** softmax output width (vocabulary of the targets) */
  readonly O: number;
}

export const SIZES: Readonly<Record<string, BenchShape>> = {
  S: { B: 32, T: 32, X: 64, H: 128, O: 64 },
  M: { B: 32, T: 64, X: 128, H: 256, O: 128 },
  L: { B: 64, T: 100, X: 256, H: 512, O: 256 },
  // For tests and smoke runs only; never part of the default set.
  TINY: { B: 2, T: 3, X: 5, H: 4, O: 6 },
};

export const DEFAULT_SIZES = ['S', 'M', 'L'];

/** Forward FLOPs of one time step: 2B(X+H)GH (the cell) + 2BHO (the output layer), as issue 4 counts them. */
export function stepForwardFlops(cell: CellKind, s: BenchShape): number {
  return 2 * s.B * (s.X + s.H) * GATES[cell] * s.H + 2 * s.B * s.H * s.O;
}

/** FLOPs of one training batch: forward + backward counted as 3x forward, over T steps. */
export function trainingFlops(cell: CellKind, s: BenchShape): number {
  return 3 * stepForwardFlops(cell, s) * s.T;
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

/**
 * How an implementation feeds its input to the cell's input product, for
 * `layerFlops`: 'lookup' (rows of the input weights looked up: no product),
 * 'product' (an input [B, X] times the input weights, and its gradient for
 * the weights only: one-hot, dense and frozen-embedding inputs).
 */
export type InputProduct = 'lookup' | 'product';

/**
 * FLOPs of the matrix products one training batch runs in a cell of G gate
 * blocks followed by a dense output layer, per step: the recurrent product
 * h[t-1] Wh (forward, its weight gradient, its input gradient), the output
 * product h Wy (the same three), and the input product as `input` says
 * (forward and weight gradient).
 * Element-wise work, lookups and the Adam update are not counted.
 */
export function layerFlops(cell: CellKind, s: BenchShape, input: InputProduct): number {
  const G = GATES[cell];
  const product = (k: number, n: number): number => 2 * s.B * k * n;
  const inputProducts = input === 'lookup' ? 0 : 2;
  return s.T * (3 * product(s.H, G * s.H) + 3 * product(s.H, s.O) + inputProducts * product(s.X, G * s.H));
}
