// The checks at a module's entry (compiler/codegen/module.ts assembles the
// module): each input and target tensor's dtype, shape and token ids, the
// batch size and steps they agree on, and a state passed in.
import type { IoSpec } from '../sema/model.js';
import { quote } from './emit-graph.js';
import { fn, gen, isSeq, isTokens, type ModuleParts, type Statement } from './module-parts.js';

/** Sizes, checkField, checkInputs, checkTargets and checkState. */
export function emitChecks(m: ModuleParts): Statement[] {
  const { o, model, own, ctx, labelled, perState, fieldShape, hasSeq, inputsHaveSeq } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  const checkLines = (specs: readonly IoSpec[], obj: string, what: string): string =>
    specs
      .map((s) => {
        const vocab = s.type.kind === 'tokens' || s.type.kind === 'token' ? String(ctx.dim(s.type.vocab)) : 'null';
        return `yield* checkField(${obj}[${quote(s.name)}], ${quote(`${what}.${s.name}`)}, ${isTokens(s) ? "'int32'" : "'float32'"}, ${isSeq(s)}, [${fieldShape(s).join(', ')}], ${vocab}, sizes${own ? `, ${s.name === own}` : ''});`;
      })
      .join('\n');
  add(
    `/** The batch size and sequence length of a batch, and which field fixed them (for error messages)${own ? '; targetSteps: the steps of the target of its own length' : ''}. */\ninterface Sizes { batchSize: number; steps: number; batchFrom: string; stepsFrom: string;${own ? ' targetSteps: number;' : ''} }`,
    gen('checkField', 'Checks one input or target tensor: dtype, rank, sizes, token ids (read back: a Reads).', [
      { name: 't', type: 'tf.Tensor | undefined' }, { name: 'what', type: 'string' }, { name: 'dtype', type: "'int32' | 'float32'" }, { name: 'seq', type: 'boolean' },
      { name: 'inner', type: 'readonly number[]' }, { name: 'vocab', type: 'number | null' }, { name: 'sizes', type: 'Sizes' },
      ...(own ? [{ name: 'ownSteps', type: 'boolean' }] : []),
    ], 'void',
      `const layout = \`[B\${seq ? ', T' : ''}\${inner.map((d) => \`, \${d}\`).join('')}]\`;
if (t === undefined || t === null || !Array.isArray(t.shape)) throw new Error(\`\${what} is missing: expected a tensor \${dtype} \${layout}\`);
if (t.dtype !== dtype) throw new Error(\`\${what} must be \${dtype} \${layout}, got \${t.dtype} \${shapeText(t.shape)}\`);
const lead = seq ? 2 : 1;
if (t.rank !== lead + inner.length || !sameShape(t.shape.slice(lead), inner)) throw new Error(\`\${what} must have shape \${layout}, got \${shapeText(t.shape)}\`);
const b = t.shape[0]!;
if (sizes.batchSize < 0) {
  sizes.batchSize = b;
  sizes.batchFrom = what;
} else if (b !== sizes.batchSize) throw new Error(\`\${what} has batch size \${b} but \${sizes.batchFrom} has \${sizes.batchSize}\`);
${own ? `if (seq && ownSteps) {
  // A target of its own length: its steps are U, not the inputs' T.
  const steps = t.shape[1]!;
  if (steps < 1) throw new Error(\`\${what} has no time steps\`);
  sizes.targetSteps = steps;
} else ` : ''}if (seq) {
  const steps = t.shape[1]!;
  if (steps < 1) throw new Error(\`\${what} has no time steps\`);
  if (sizes.steps < 0) {
    sizes.steps = steps;
    sizes.stepsFrom = what;
  } else if (steps !== sizes.steps) throw new Error(\`\${what} has \${steps} steps but \${sizes.stepsFrom} has \${sizes.steps}\`);
}
if (vocab !== null) {
  // The caller's tensor: read, not disposed.
  const ids = yield t;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    // The position as people index a batch, in the words of the runtime's check (runtime/train/feeds.ts).
    const where = seq ? \`example \${Math.floor(i / t.shape[1]!)}, step \${i % t.shape[1]!}\` : \`example \${i}\`;
    if (!(id >= 0 && id < vocab)) throw new Error(\`\${what}: token id \${id} (\${where}) is outside [0, \${vocab})\`);
  }
}`),
    gen('checkInputs', 'Checks the inputs at the entry; returns the batch size and the number of steps.', [{ name: 'inputs', type: 'Inputs' }], 'Sizes',
      `if (typeof inputs !== 'object' || inputs === null) throw new Error(${quote(`inputs must be an object: ${model.inputs.map((s) => s.name).join(', ')}`)});
const sizes: Sizes = { batchSize: -1, steps: -1, batchFrom: '', stepsFrom: ''${own ? ', targetSteps: -1' : ''} };
${checkLines(model.inputs, 'inputs', 'inputs')}
${(own ? false : hasSeq) && !model.inputs.some(isSeq) ? '' : `if (sizes.steps < 0) sizes.steps = 1;`}
${o.unroll !== undefined ? `if (sizes.steps !== ${o.unroll}) throw new Error(\`this module was compiled with --unroll ${o.unroll}: sequences must have exactly ${o.unroll} steps, got \${sizes.steps}\`);` : ''}
${(own ? inputsHaveSeq : hasSeq) ? `if (inputs.lengths !== undefined) {
  const l = inputs.lengths;
  if (!Array.isArray(l) || l.length !== sizes.batchSize || l.some((x) => !Number.isInteger(x) || x < 1 || x > sizes.steps)) {
    throw new Error(\`inputs.lengths must be \${sizes.batchSize} whole numbers between 1 and \${sizes.steps}\`);
  }
}` : ''}
return sizes;`),
  );
  if (labelled) {
    add(gen('checkTargets', 'Checks the targets against the inputs\' batch size and steps.', [{ name: 'targets', type: 'Targets' }, { name: 'sizes', type: 'Sizes' }], 'void',
      `if (typeof targets !== 'object' || targets === null) throw new Error(${quote(`targets must be an object: ${model.targets.map((s) => s.name).join(', ')}`)});
${checkLines(model.targets, 'targets', 'targets')}
if (sizes.steps < 0) sizes.steps = 1;${own ? `
if (targets.lengths !== undefined) {
  const l = targets.lengths;
  if (!Array.isArray(l) || l.length !== sizes.batchSize || l.some((x) => !Number.isInteger(x) || x < 1 || x > sizes.targetSteps)) {
    throw new Error(\`targets.lengths must be \${sizes.batchSize} whole numbers between 1 and \${sizes.targetSteps}\`);
  }
}` : ''}
${o.unroll !== undefined ? `if (sizes.steps !== ${o.unroll}) throw new Error(\`this module was compiled with --unroll ${o.unroll}: sequences must have exactly ${o.unroll} steps, got \${sizes.steps}\`);` : ''}`));
  }
  add(fn('checkState', 'Checks a state passed in to continue sequences.', [{ name: 'state', type: 'State' }, { name: 'batchSize', type: 'number' }], 'void',
    `if (typeof state !== 'object' || state === null) throw new Error('state must be an object returned by forward');
${perState(`for (const name of STATE_NAMES) {
  const t = state[name];
  const shape = [batchSize, ...STATE_SHAPES[name]];
  if (t === undefined || t === null) throw new Error(\`state \${name} is missing\`);
  if (!sameShape(t.shape, shape)) throw new Error(\`state \${name} has shape \${shapeText(t.shape)}, expected \${shapeText(shape)}\`);
}`, '// This model has no recurrent state.\nvoid batchSize;')}`));
  return out;
}
