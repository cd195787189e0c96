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

/** The standard cells the golden tests cover. */
export const STANDARD_CELLS = ['rnn', 'irnn', 'lstm', 'gru', 'gru_ra'] as const;

/** The small per-cell model of the IR and codegen goldens (embedding 3, hidden 2, vocabulary 4). */
export function goldenCellModel(cell: string, after = ''): string {
  return `
model m {
  dim V = 4, H = 2
  input x: seq<token[V]>
  target y: seq<token[V]>
  h = ${cell}(embed(x, 3)) with H
  o = dense(h, V)
  loss = cross_entropy(o, y)
}${after}`;
}

/** Many-to-one regression: a GRU over vector steps, its last state to one number (mse). */
export function manyToOneGru(after = ''): string {
  return `
model m {
  dim H = 4
  input x: seq<[2]>
  target y: [1]
  h = gru(x) with H
  loss = mse(dense(last(h), 1), y)
}${after ? `\n${after}` : ''}`;
}

/**
 * A sequence regressor: `h = <call> with H` over vectors [X] per step, a
 * dense layer to [Y] at every step, the mean squared error.
 */
export function seqRegressor(call: string, { name = 'm', H = 4, X = 2, Y = 1 } = {}, after = ''): string {
  return `
model ${name} {
  dim H = ${H}
  input x: seq<[${X}]>
  target y: seq<[${Y}]>
  h = ${call} with H
  loss = mse(dense(h, ${Y}), y)
}${after ? `\n${after}` : ''}`;
}

/** A tagger whose cell attends over the encoder's outputs (or the embeddings) with `call`. */
export function attentionTagger(call: string, memory = 'enc', D = 'H'): string {
  return `
cell att(x: [X], mem: [L, D]) -> h: [H] {
  param W: [H, X]
  param U: [H, H]
  param C: [H, D]
  c[t] = ${call}
  h[t] = tanh(W @ x[t] + U @ h[t-1] + C @ c[t])
}
model m {
  dim V = 5, K = 4, H = 3
  input x: seq<token[V]>
  target y: seq<token[K]>
  e = embed(x, ${D === 'H' ? 3 : 4})
  enc = gru(e) with H
  d = att(e, ${memory}) with H
  loss = cross_entropy(dense(d, K), y)
}`;
}

/** An encoder-decoder: a bidirectional GRU encoder and a decoder that attends over it (`kind`), taught with the target. */
export function attentionSeq2seq(kind = 'additive', { V = 6, H = 3, query = 's[t-1]' } = {}, after = ''): string {
  return `
cell att_dec(mem: [L, D]) -> y: token[K] {
  option start = 0
  param E: [M, K]
  param W: [H, M]
  param U: [H, H]
  param C: [H, D]
  param b: [H]
  param W_y: [K, H]
  param b_y: [K]
  e[t] = E @ one_hot(y[t-1])
  c[t] = attend(${query}, mem, ${kind})
  s[t] = tanh(W @ e[t] + U @ s[t-1] + C @ c[t] + b)
  y[t] = W_y @ s[t] + b_y
}
model m {
  dim V = ${V}, E = 4, H = ${H}, M = 4
  input  src: seq<token[V]>
  target tgt: seq<token[V]>
  enc = bidir gru(embed(src, E)) with H
  y = att_dec(enc) with H, M
  loss = cross_entropy(y, tgt)
}${after ? `\n${after}` : ''}`;
}

/** A plain encoder-decoder: the encoder's last state, read whole, starts the decoder's state (`s[0] = ...`) and feeds every step. */
export function plainSeq2seq({ V = 6, H = 3 } = {}, after = ''): string {
  return `
cell dec(z: [Z]) -> y: token[K] {
  option start = 0
  param E: [M, K]
  param W: [H, M]
  param U: [H, H]
  param S: [H, Z]
  param C: [H, Z]
  param b: [H]
  param W_y: [K, H]
  param b_y: [K]
  s[0] = tanh(S @ z)
  e[t] = E @ one_hot(y[t-1])
  s[t] = tanh(W @ e[t] + U @ s[t-1] + C @ z + b)
  y[t] = W_y @ s[t] + b_y
}
model m {
  dim V = ${V}, E = 4, H = ${H}, M = 4
  input  src: seq<token[V]>
  target tgt: seq<token[V]>
  enc = gru(embed(src, E)) with H
  y = dec(last(enc)) with H, M
  loss = cross_entropy(y, tgt)
}${after ? `\n${after}` : ''}`;
}

/** A recurrence whose state starts from a learned vector (`h[0] = tanh(h0)`) instead of zeros. */
export const LEARNED_START_CELL = `
cell rnn0(x: [X]) -> h: [H] {
  param U: [H, X]
  param W: [H, H]
  param h0: [H]
  h[0] = tanh(h0)
  h[t] = tanh(U @ x[t] + W @ h[t-1])
}`;

/**
 * A decoder that reads the source step by step as well as its previous tag
 * (a tagger that conditions on the tags it chose): aligned, so the target
 * has the source's steps; optionally attending over the whole source.
 */
export function alignedDecoder(after = '', attention = false): string {
  return `
cell tag_dec(x: [X]${attention ? ', mem: [L, D]' : ''}) -> y: token[K] {
  option start = 0
  param E: [M, K]
  param W: [H, X]
  param V: [H, M]
  param U: [H, H]
  param h0: [H]
  param W_y: [K, H]${attention ? '\n  param C: [H, D]' : ''}
  s[0] = tanh(h0)
  e[t] = E @ one_hot(y[t-1])${attention ? '\n  c[t] = attend(s[t-1], mem, general)' : ''}
  s[t] = tanh(W @ x[t] + V @ e[t] + U @ s[t-1]${attention ? ' + C @ c[t]' : ''})
  y[t] = W_y @ s[t]
}
model m {
  dim V = 6, K = 4, H = 3, M = 2
  input  x: seq<token[V]>
  target tags: seq<token[K]>
  e = embed(x, 3)
  y = tag_dec(e${attention ? ', e' : ''}) with H, M
  loss = cross_entropy(y, tags)
}${after ? `\n${after}` : ''}`;
}

/** A small convolutional classifier: two convolutions (3 x 3, then 5 x 5), max and average pooling, the mean over locations. */
export function convClassifier(after = ''): string {
  return `
model cnn {
  dim K = 3
  input  img: [6, 8, 2]
  target label: token[K]
  c1 = relu(conv2d(img, 3))
  p1 = max_pool(c1)
  c2 = tanh(conv2d(p1, 4, size = 5))
  p2 = avg_pool(c2, size = 2)
  f  = flatten(p2)
  loss = cross_entropy(dense(mean(f), K), label)
}${after ? `\n${after}` : ''}`;
}

/**
 * Visual attention (Xu et al. 2015): a small convolutional encoder turns an
 * image into a feature map of locations; a decoder writes a caption of its
 * own length, attending (additive) over the locations at every step.
 */
export function visualCaptioner(after = '', { image = '[6, 8, 1]', K = 5 } = {}): string {
  return `
cell captioner(mem: [L, D], z: [D]) -> y: token[K] {
  option start = 0
  option end = 1
  param E: [M, K]
  param S: [H, D]
  param W: [H, M + D]
  param U: [H, H]
  param b: [H]
  param W_y: [K, H + D]
  param b_y: [K]
  s[0] = tanh(S @ z)
  a[t] = attend(s[t-1], mem, additive)
  s[t] = tanh(W @ concat(E @ one_hot(y[t-1]), a[t]) + U @ s[t-1] + b)
  y[t] = W_y @ concat(s[t], a[t]) + b_y
}
model caption {
  dim K = ${K}, H = 3, M = 2
  input  img: ${image}
  target words: seq<token[K]>
  f = flatten(max_pool(relu(conv2d(img, 3))))
  y = captioner(f, mean(f)) with H, M
  loss = cross_entropy(y, words)
}${after ? `\n${after}` : ''}`;
}

/**
 * An attention decoder whose recurrence is the standard `lstm` cell called
 * from inside it (`s[t] = lstm(...) with X = M + D`), or, with `byHand`, the
 * same equations written out (parameters `W_g`... where the call has `s.W_g`...).
 */
export function decoderCallingLstm(byHand = false, after = ''): string {
  const recurrence = byHand
    ? `  param W_g, W_i, W_f, W_o: [H, M + D]
  param W_gh, W_ih, W_fh, W_oh: [H, H]
  param b_g, b_i, b_o: [H]
  param b_f: [H] = ones
  x[t] = concat(E @ one_hot(y[t-1]), a[t])
  g[t] = tanh(W_g @ x[t] + W_gh @ s[t-1] + b_g)
  i[t] = sigmoid(W_i @ x[t] + W_ih @ s[t-1] + b_i)
  f[t] = sigmoid(W_f @ x[t] + W_fh @ s[t-1] + b_f)
  o[t] = sigmoid(W_o @ x[t] + W_oh @ s[t-1] + b_o)
  c[t] = f[t] * c[t-1] + i[t] * g[t]
  s[t] = o[t] * tanh(c[t])`
    : '  s[t] = lstm(concat(E @ one_hot(y[t-1]), a[t])) with X = M + D';
  return `
cell dec(mem: [L, D]) -> y: token[K] {
  option start = 0
  param E: [M, K]
  param W_y: [K, H + D]
  param b_y: [K]
  a[t] = attend(s[t-1], mem, additive)
${recurrence}
  y[t] = W_y @ concat(s[t], a[t]) + b_y
}
model m {
  dim V = 6, E = 4, H = 3, M = 4
  input  src: seq<token[V]>
  target tgt: seq<token[V]>
  enc = bidir gru(embed(src, E)) with H
  y = dec(enc) with H, M
  loss = cross_entropy(y, tgt)
}${after ? `\n${after}` : ''}`;
}
