// Small .rnn programs several test files use.

export interface LmSizes {
  readonly V?: number;
  readonly H?: number;
  readonly E?: number;
  /** Text after the model, e.g. a train block. */
  readonly after?: string;
}

/** A token language model whose recurrent layer is `layer` (it must define `h`). */
export function tokenLm(layer: string, { V = 5, H = 3, E = 4, after = '' }: LmSizes = {}): string {
  return `
model m {
  dim V = ${V}, H = ${H}
  input x: seq<token[V]>
  target y: seq<token[V]>
  e = embed(x, ${E})
  ${layer}
  o[t] = dense(h[t], V)
  loss = cross_entropy(o, y)
}${after ? `\n${after}` : ''}`;
}

/** A tagger reading the sequence both ways: `fw` an LSTM, `bw` the given cell run backwards. */
export function bidirectionalTagger(backward: string, { V = 5, K = 4, H = 3 } = {}, after = ''): string {
  return `
model m {
  dim V = ${V}, K = ${K}, H = ${H}
  input x: seq<token[V]>
  target y: seq<token[K]>
  e = embed(x, 4)
  fw = lstm(e) with H
  bw = ${backward}(reverse e) with H
  o[t] = dense(concat(fw[t], bw[t]), K)
  loss = cross_entropy(o, y)
}${after ? `\n${after}` : ''}`;
}
