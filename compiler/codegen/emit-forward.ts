// `forward` (compiler/codegen/module.ts assembles the module): a batch of
// inputs (and a taught decoder's targets) through the prediction graph, the
// unpadded variant when no sequence is padded, state in and out for streaming.
import { quote } from './emit-graph.js';
import { fn, readingFns, type ModuleParts, type Statement } from './module-parts.js';

/** `forward`: the model on a batch of inputs, state in and out. */
export function emitForward(m: ModuleParts): Statement[] {
  const { model, predictFn, taught, predictFullFn, outIsSeq, callEither, keepState } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  const params = [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, ...(taught ? [{ name: 'targets', type: 'Targets' }] : [])];
  add(fn('runForward', 'forward on checked inputs (decoderStep runs it on rows it made).', [...params, { name: 'state', type: 'State | undefined' }, { name: 'sizes', type: 'Sizes' }], '{ outputs: Outputs; state: State }',
    `return scoped(() => {
  const batch = ${taught ? 'prepareBatch(inputs, targets, sizes)' : 'prepareInputs(inputs, sizes)'};
  const r = ${callEither(predictFn, predictFullFn, 'batch', 'state ?? zeroState(sizes.batchSize)', '0', '')};
  return { outputs: { ${quote(model.output)}: tf.keep(${outIsSeq ? 'batchMajor(r.output)' : 'r.output'}) }, state: ${keepState(predictFn, 'r')} };
});`));
  add(...readingFns('forward', `Runs the model on a batch of inputs${taught ? ' and the targets its decoder reads back (teacher forcing: step t reads the target of step t-1)' : ''}. Without \`state\` the sequences start from zeros; pass the returned state to continue them (streaming). Returns new tensors that the caller owns (dispose outputs and state when done); nothing passed in is disposed. It reads back only token ids, to check them.`,
    [...params, { name: 'state?', type: 'State' }], '{ outputs: Outputs; state: State }',
    `checkParams(p);
const sizes = yield* checkInputs(inputs);${taught ? '\nyield* checkTargets(targets, sizes);' : ''}
if (state !== undefined) checkState(state, sizes.batchSize);
return runForward(p, inputs, ${taught ? 'targets, ' : ''}state, sizes);`));
  return out;
}
