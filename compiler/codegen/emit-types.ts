// The module's header and types (compiler/codegen/module.ts assembles the
// module): DIMS, Params and its names and shapes, Inputs, Targets, State,
// Outputs, and the batch types the graphs read.
import type { IoSpec } from '../sema/model.js';
import type { StatementStructures } from 'ts-morph';
import { quote, sourceLine } from './emit-graph.js';
import { numberLiteral } from './emit-ops.js';
import { propertyKey } from './escape.js';
import { baseName, type ModuleParts, rawBaseName, type Statement } from './module-parts.js';
import { StructureKind, VariableDeclarationKind } from 'ts-morph';

/** DIMS, the parameter, input, target, state and output types, and the batch types. */
export function emitTypes(m: ModuleParts): Statement[] {
  const { model, dims, own, ctx, labelled, params, states, outShape, outIsSeq, outTail, fieldDoc, hasSeq, inputsHaveSeq } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  add({ kind: StructureKind.ImportDeclaration, moduleSpecifier: '@tensorflow/tfjs-core', namespaceImport: 'tf' });
  add({
    kind: StructureKind.VariableStatement,
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The sizes this module was compiled for.'],
    declarations: [{ name: 'DIMS', initializer: `{ ${[...dims].map(([k, v]) => `${propertyKey(k, true)}: ${v as number}`).join(', ')} } as const` }],
  });
  add({
    kind: StructureKind.Interface,
    name: 'Params',
    isExported: true,
    docs: ['The trainable parameters, by full name (`<instance>.<param>`). The caller owns these tensors.'],
    properties: params.map(({ spec, shape }) => {
      const loc = `${baseName(spec.span.file)}:${spec.span.line}`;
      const line = sourceLine(ctx, `${rawBaseName(spec.span.file)}:${spec.span.line}`);
      const init = [spec.init.kind, ...spec.init.positional.map(numberLiteral), ...Object.entries(spec.init.args).map(([k, v]) => `${k} = ${numberLiteral(v)}`)];
      return {
        name: quote(spec.name),
        type: 'tf.Tensor',
        isReadonly: true,
        docs: [`float32 [${shape.join(', ')}], initialised by ${init[0]}${init.length > 1 ? `(${init.slice(1).join(', ')})` : ''}; ${loc}${line ? `: \`${line}\`` : ''}`],
      };
    }),
  });
  add(
    `/** The name of a parameter. */\nexport type ParamName = keyof Params;`,
    `/** Every parameter, in the order rnnc creates (and initialises) them. */\nexport const PARAM_NAMES: readonly ParamName[] = [${params.map((p) => quote(p.spec.name)).join(', ')}];`,
    `/** The shape of each parameter. */\nexport const PARAM_SHAPES: Readonly<Record<ParamName, readonly number[]>> = { ${params.map((p) => `${propertyKey(p.spec.name)}: [${p.shape.join(', ')}]`).join(', ')} };`,
    `/** Parameters as JSON (the format of \`rnnc params\`): name -> {shape, data} in row-major order. */\nexport type ParamsJson = Record<string, { shape: number[]; data: number[] }>;`,
  );
  const lengthsDoc = own
    ? `The real length of each target sequence (1..U, \`${own}\` holds U steps); the steps after it are padding. Default: all U.`
    : 'The real length of each sequence (1..T); the steps after it are padding. Default: all T.';
  const ioInterface = (name: string, doc: string, specs: readonly IoSpec[], lengths: string | undefined): StatementStructures => ({
    kind: StructureKind.Interface,
    name,
    isExported: true,
    docs: [doc],
    properties: [
      ...specs.map((s) => ({ name: quote(s.name), type: 'tf.Tensor', isReadonly: true, docs: [fieldDoc(s)] })),
      ...(lengths !== undefined ? [{ name: 'lengths', type: 'readonly number[]', isReadonly: true, hasQuestionToken: true, docs: [lengths] }] : []),
    ],
  });
  add(ioInterface('Inputs', 'The inputs of a batch, batch-major. The caller owns these tensors.', model.inputs, (own ? inputsHaveSeq : hasSeq) ? 'The real length of each sequence (1..T); the steps after it are padding. Default: all T.' : undefined));
  if (labelled) add(ioInterface('Targets', `The targets of a batch, batch-major${own ? `; \`${own}\` runs over steps of its own (U), not the inputs' T` : ''}. The caller owns these tensors.`, model.targets, own ? lengthsDoc : undefined));
  add({
    kind: StructureKind.Interface,
    name: 'State',
    isExported: true,
    docs: ['The recurrent state, `<instance>.<variable>` -> [B, ...]: pass the state `forward` returned to continue the sequences.'],
    properties: states.map((s) => ({ name: quote(s.name), type: 'tf.Tensor', isReadonly: true, docs: [`float32 [B, ${s.shape.join(', ')}]`] })),
  });
  add(
    `/** The name of a recurrent state. */\nexport type StateName = keyof State;`,
    `const STATE_NAMES: readonly StateName[] = [${states.map((s) => quote(s.name)).join(', ')}];`,
    `const STATE_SHAPES: Readonly<Record<StateName, readonly number[]>> = { ${states.map((s) => `${propertyKey(s.name)}: [${s.shape.join(', ')}]`).join(', ')} };`,
  );
  add({
    kind: StructureKind.Interface,
    name: 'Outputs',
    isExported: true,
    docs: ['What `forward` predicts, batch-major.'],
    properties: [{ name: quote(model.output), type: 'tf.Tensor', isReadonly: true, docs: [`float32 [B, ${outIsSeq ? `${outShape[0]}, ` : ''}${outTail.join(', ')}]${model.loss === 'cross_entropy' ? ' (logits)' : ''}`] }],
  });
  const tensorsInterface = (name: string, specs: readonly IoSpec[]): string =>
    `/** ${name === 'InputTensors' ? 'Inputs' : 'Targets'} as the graphs read them: sequences time-major [T, B, ...]. */\ninterface ${name} { ${specs.map((s) => `readonly ${quote(s.name)}: tf.Tensor;`).join(' ')} }`;
  add(
    tensorsInterface('InputTensors', model.inputs),
    `/** A batch as the graphs read it; mask and last are host [T, B] marks (1 on real steps; 1 at each sequence's last step). */\ninterface Batch { readonly steps: number; readonly batchSize: number; readonly inputs: InputTensors; readonly mask: Float32Array; readonly last: Float32Array; }`,
  );
  if (own) add(`/** The steps of a target of its own length: U, and the host [U, B] mask of its real steps. */\ninterface TargetSteps { readonly targetSteps: number; readonly targetMask: Float32Array; }`);
  if (labelled) add(tensorsInterface('TargetTensors', model.targets), `interface LabelledBatch extends Batch${own ? ', TargetSteps' : ''} { readonly targets: TargetTensors; }`);
  return out;
}
