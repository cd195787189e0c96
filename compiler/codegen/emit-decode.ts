// Decoding, for a model whose decoder writes a target of its own length
// (compiler/codegen/module.ts assembles the module): END_TOKEN, greedy
// `decode` with attention weights, `decoderStep` and `beamSearch` over
// runtime/decode.ts as `rnnc translate` runs them.
import type { IoSpec } from '../sema/model.js';
import { quote } from './emit-graph.js';
import { numberLiteral } from './emit-ops.js';
import { propertyKey } from './escape.js';
import { fn, isSeq, isTokens, readingFns, type ModuleParts, type Statement } from './module-parts.js';
import { DECODE } from './prelude.js';

/** END_TOKEN, decode, decoderStep and beamSearch (greedy-decoding models only). */
export function emitDecode(m: ModuleParts): Statement[] {
  const { o, model, shapeOf, own, greedy, greedyFn, outTail, fieldShape, callGraph } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  if (greedyFn && own) {
    const end = o.decoding?.end;
    const greedyStates = greedy!.inputs.filter((i) => i.role === 'state').map((i) => ({ name: i.name, shape: shapeOf(greedy!.values[i.value]!.type.shape.slice(1)) }));
    const K = outTail[0]!;
    const inputSeq = model.inputs.find(isSeq);
    add(
      `/** The decoder's end token: decoding stops when it is the most likely${end === undefined ? ' (this decoder has none: it writes maxLen tokens)' : ''}. */\nexport const END_TOKEN: number | null = ${end === undefined ? 'null' : numberLiteral(end)};`,
      `/** Options of decode: the longest output (default ${end === undefined && inputSeq ? "each input's length: this decoder has no end token" : '100'}), and whether to return the attention weights. */\nexport interface DecodeOptions { readonly maxLen?: number; readonly attention?: boolean; }`,
      `/** One decoded output: its tokens (without the end token), their log-probability (natural log), and on request the weights of each \`attend\` ([output step][${inputSeq ? 'input position' : 'location'}]). */\nexport interface Decoded { readonly tokens: number[]; readonly logProb: number; readonly attention?: Record<string, number[][]>; }`,
      `/** Options of beamSearch: hypotheses kept per input (default 4), the longest output (default 100), GNMT's length normalisation ((5 + n) / 6)^alpha (default 0: none). */\nexport interface BeamOptions { readonly width?: number; readonly maxLen?: number; readonly alpha?: number; }`,
      DECODE,
    );
    add(...readingFns('decode', `Greedy decoding (as \`rnnc translate\`): for each example, the decoder writes its most likely token at each step, reading it back at the next, until ${end === undefined ? 'maxLen tokens' : 'the end token (or maxLen tokens)'}. Returns plain arrays; nothing passed in is disposed.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'options', type: 'DecodeOptions = {}' }], 'Decoded[]',
      `checkParams(p);
const sizes = yield* checkInputs(inputs);
if (options.maxLen !== undefined && (!Number.isInteger(options.maxLen) || options.maxLen < 1)) throw new Error(\`decode: maxLen must be a whole number of at least 1, got \${String(options.maxLen)}\`);
${end === undefined && inputSeq ? `// Without an end token an output has its input's length (as rnnc translate), unless maxLen says otherwise.
const limitOf = (b: number): number => options.maxLen ?? (inputs.lengths ?? new Array<number>(sizes.batchSize).fill(sizes.steps))[b]!;` : 'const limitOf = (_b: number): number => options.maxLen ?? 100;'}
const maxLen = Math.max(...Array.from({ length: sizes.batchSize }, (_, b) => limitOf(b)));
const r = scoped(() => {
  const batch = { ...prepareInputs(inputs, sizes), ...targetSteps(sizes.batchSize, maxLen, undefined) };
  // Its states start from zeros: the model's, and the one-hot token each decoder reads back.
  const B0 = sizes.batchSize;
  const start: Record<string, tf.Tensor> = { ${greedyStates.map((g) => `${propertyKey(g.name)}: tf.zeros([B0, ${g.shape.join(', ')}])`).join(', ')} };
  const r = ${callGraph(greedyFn, 'batch', 'start', '0', '')};
  return { output: tf.keep(r.output), results: ${greedyFn.returns.includes('results') ? "Object.fromEntries(Object.entries(r.results).map(([name, w]) => [name, tf.keep(w)]))" : '{}'} as Record<string, tf.Tensor> };
});
// The weights of each \`attend\` [U, B, L], read on request; all disposed, also when a read fails.
const weights: Record<string, { data: tf.TypedArray; L: number }> = {};
let scores: tf.TypedArray;
try {
  scores = yield* readOwned(r.output);
  for (const [name, w] of Object.entries(r.results)) if (options.attention) weights[name] = { data: yield* readOwned(w), L: w.shape[2]! };
} finally {
  for (const w of Object.values(r.results)) if (!w.isDisposed) w.dispose();
}
const B = sizes.batchSize;
const K = ${K};
const lp = logSoftmaxRows(scores, K);
const lengths: readonly number[] = ${inputSeq ? 'inputs.lengths ?? new Array<number>(B).fill(sizes.steps)' : 'new Array<number>(B).fill(1)'};
return Array.from({ length: B }, (_, b): Decoded => {
  const tokens: number[] = [];
  let logProb = 0;
  for (let t = 0; t < limitOf(b); t++) {
    const at = (t * B + b) * K;
    // The first largest score, as the graph's own choice (tf.argMax).
    let best = 0;
    for (let k = 1; k < K; k++) if (scores[at + k]! > scores[at + best]!) best = k;
    logProb += lp[at + best]!;
    if (best === END_TOKEN) break;
    tokens.push(best);
  }
  if (!options.attention) return { tokens, logProb };
  const attention: Record<string, number[][]> = {};
  for (const [name, { data, L }] of Object.entries(weights)) {
    ${inputSeq ? '// Padded source positions are left out.\n    const n = lengths[b]!;' : 'const n = L;'}
    attention[name] = tokens.map((_, t) => Array.from(data.subarray((t * B + b) * L, (t * B + b) * L + n)));
  }
  ${greedyFn.returns.includes('results') ? '' : '// This model has no attention.\n  void lengths;\n  '}return { tokens, logProb, attention };
});`));
    const pick = (spec: IoSpec): string => `${propertyKey(spec.name)}: tf.gather(inputs[${quote(spec.name)}], picked)`;
    const targetOf = (spec: IoSpec): string =>
      spec.name === own
        ? `${propertyKey(spec.name)}: tf.tensor2d(tokens, [rows.length, U], 'int32')`
        : `${propertyKey(spec.name)}: tf.zeros([rows.length${isSeq(spec) ? ', U' : ''}${fieldShape(spec).map((d) => `, ${d}`).join('')}], ${isTokens(spec) ? "'int32'" : "'float32'"})`;
    const rowsParam = { name: 'rows', type: 'readonly { readonly source: number; readonly tokens: readonly number[] }[]' };
    add(fn('decoderScores', 'decoderStep on checked inputs: starts the scores of the rows\' next tokens (a kept [rows, U, K] tensor, batch-major, and U).', [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'sizes', type: 'Sizes' }, rowsParam], '{ scores: tf.Tensor; U: number }',
      `for (const r of rows) {
  if (!Number.isInteger(r.source) || r.source < 0 || r.source >= sizes.batchSize) throw new Error(\`decoderStep: source \${String(r.source)} is not an example of the inputs (0 to \${sizes.batchSize - 1})\`);
  if (!r.tokens.every((id) => Number.isInteger(id) && id >= 0 && id < ${K})) throw new Error(\`decoderStep: a prefix holds a token outside [0, ${K})\`);
}
${inputSeq ? 'const lengths: readonly number[] = inputs.lengths ?? new Array<number>(sizes.batchSize).fill(sizes.steps);' : ''}
const U = Math.max(...rows.map((r) => r.tokens.length)) + 1;
return scoped(() => {
  const picked = tf.tensor1d(rows.map((r) => r.source), 'int32');
  const tokens = new Int32Array(rows.length * U);
  rows.forEach((r, i) => tokens.set(r.tokens, i * U));
  const chosen: Inputs = { ${[...model.inputs.map(pick), ...(inputSeq ? ['lengths: rows.map((r) => lengths[r.source]!)'] : [])].join(', ')} };
  const out = runForward(p, chosen, { ${model.targets.map(targetOf).join(', ')}, lengths: rows.map((r) => r.tokens.length + 1) }, undefined, { ...sizes, batchSize: rows.length, targetSteps: U });
  disposeState(out.state);
  return { scores: out.outputs[${quote(model.output)}]!, U };
});`));
    add(...readingFns('decoderStep', `One decoder step for custom decoding (sampling, constraints): for each row, the scores (logits) of the token that follows its prefix, the decoder reading back the prefix's tokens (teacher forcing) over example \`source\` of the inputs. Rows may have prefixes of different lengths; all run in one batch. Nothing passed in is disposed.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, rowsParam], 'Float32Array[]',
      `checkParams(p);
const sizes = yield* checkInputs(inputs);
if (rows.length === 0) return [];
const { scores, U } = decoderScores(p, inputs, sizes, rows);
const data = (yield* readOwned(scores)) as Float32Array;
// Row i's scores at its own next step, [B, U, K] batch-major.
return rows.map((r, i) => data.slice((i * U + r.tokens.length) * ${K}, (i * U + r.tokens.length + 1) * ${K}));`));
    add(...readingFns('beamSearch', `Beam search (as \`rnnc translate --beam\`): for each example the \`width\` most likely outputs are extended one token at a time${end === undefined ? '' : ', a hypothesis ending at the end token'}, scores divided by the length penalty; the best is returned. Each step is one decoderStep over all examples' hypotheses. Nothing passed in is disposed.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'options', type: 'BeamOptions = {}' }], 'Decoded[]',
      `checkParams(p);
const sizes = yield* checkInputs(inputs);
const width = options.width ?? 4;
const alpha = options.alpha ?? 0;
if (!Number.isInteger(width) || width < 1) throw new Error(\`beamSearch: width must be a whole number of at least 1, got \${String(width)}\`);
if (options.maxLen !== undefined && (!Number.isInteger(options.maxLen) || options.maxLen < 1)) throw new Error(\`beamSearch: maxLen must be a whole number of at least 1, got \${String(options.maxLen)}\`);
if (!(alpha >= 0)) throw new Error(\`beamSearch: alpha must be a number of at least 0, got \${String(alpha)}\`);
${end === undefined && inputSeq ? `// Without an end token an output has its input's length (as rnnc translate), unless maxLen says otherwise.
const inputLengths: readonly number[] = inputs.lengths ?? new Array<number>(sizes.batchSize).fill(sizes.steps);
const lengths = inputLengths.map((n) => options.maxLen ?? n);` : 'const lengths = new Array<number>(sizes.batchSize).fill(options.maxLen ?? 100);'}
const limits = { lengths, alpha${end === undefined ? '' : `, end: ${numberLiteral(end)}`} };
const steps = beamSearchSteps(sizes.batchSize, width, limits);
for (let step = steps.next(); ; ) {
  if (step.done) return step.value;
  const rows = step.value.rows;
  const { scores, U } = decoderScores(p, inputs, sizes, rows);
  const all = yield* readOwned(scores);
  // Each row's scores at its own next step, [rows, U, K] batch-major.
  const data = new Float32Array(rows.length * ${K});
  rows.forEach((r, i) => data.set(all.subarray((i * U + r.tokens.length) * ${K}, (i * U + r.tokens.length + 1) * ${K}), i * ${K}));
  step = steps.next({ data, k: ${K} });
}`));
  }
  return out;
}
