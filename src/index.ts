// The public API of rnnc as a library (`import { compile } from 'rnnc'`):
// compile a program's text, then train, run, save and load its models, or
// turn one into a standalone TypeScript module. README.md, "Using rnnc from
// TypeScript", shows it; docs/api/ is its reference, made from these TSDoc
// comments (`npm run docs:api`). The compiler's own pieces are
// `rnnc/internals` (src/internals.ts).
export { compile, type CompileOptions, type CompileResult } from './api/compile.js';
export { Model, type EarlyStop, type EpochReport, type Evaluation, type FitOptions, type History, type Metrics, type ModuleOptions, type OptimizerSpec, type PredictInput, type Prediction, type StepReport } from './api/model.js';
export type { Data, DataSource, Example, Value } from './api/data.js';
export { RnncError, type CompileDiagnostic, type SourceRange } from './api/errors.js';
export type { BackendName } from '../runtime/backend.js';
export type { WatchedMetric } from './validation-watch.js';
