// What the benchmark measures: the cells, the sizes of issue 4 and the FLOP
// count every GFLOP/s figure is based on. Shared by every implementation so
// that all columns of one row describe the same work.

export type CellKind = 'rnn' | 'lstm' | 'gru';
export const CELLS: readonly CellKind[] = ['rnn', 'lstm', 'gru'];

/** Gate blocks per cell: how many [H] pre-activations one step computes (G in the FLOP formula). */
export const GATES: Readonly<Record<CellKind, number>> = { rnn: 1, lstm: 4, gru: 3 };

export interface BenchShape {
  /** batch */
  readonly B: number;
  /** sequence length */
  readonly T: number;
  /** one-hot input width (vocabulary of the input tokens) */
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
