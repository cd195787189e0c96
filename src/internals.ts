// `rnnc/internals`: the compiler's and runtime's own pieces (lower a model
// to IR, differentiate it, execute a graph), for tools built on rnnc. They
// follow the code, not a promise: the documented API is src/index.ts.
export { analyze, buildModel, checkProgram, trainingGraphs, type Analysis, type SourceText } from '../compiler/compile.js';
export type { Diagnostic, Note, Severity } from '../compiler/diagnostics/diagnostic.js';
export { renderDiagnostic, renderDiagnosticsJson } from '../compiler/diagnostics/render.js';
export { printGraph } from '../compiler/ir/printer.js';
export type { Graph, Node, ValueType } from '../compiler/ir/types.js';
export { differentiate } from '../compiler/autodiff/vjp.js';
export type { LoweredModel } from '../compiler/sema/model.js';
export type { TrainConfig } from '../compiler/sema/train.js';
export { executeGraph } from '../runtime/tfjs/execute.js';
export { evaluateGraph } from '../runtime/reference/evaluate.js';
export { TrainingSession } from '../runtime/train/session.js';
export { selectBackend } from '../runtime/backend.js';
export { loadStdlib } from './stdlib.js';
export { main } from './cli.js';
