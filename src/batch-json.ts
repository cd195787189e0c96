// The batch format of `rnnc grad`: a JSON object mapping each model input
// and target name to a tensor {"shape": [...], "data": [...]}, batch-major as
// people write it: token sequences [B, T], vector sequences [B, T, D], one
// token per example [B], one vector per example [B, D]. An optional
// "lengths": [B] gives each sequence's real length (default: all T). A
// target that a decoder writes over steps of its own (LoweredModel.targetAxis)
// has its own U steps, and "target_lengths": [B] its real lengths (default:
// all U).
// Every field is checked here, where the file is read: the tensor entries
// by the schema of runtime/params-json.ts, then each shape against the
// model's declaration (rank, sizes, B >= 1 and T >= 1), so nothing past this
// point meets a batch it cannot run.
import type { LoweredModel, IoSpec } from '../compiler/sema/model.js';
import type { Batch, HostTensor } from '../runtime/data/types.js';
import { checkTensorJson, isPlainObject, parseJsonText } from '../runtime/params-json.js';
import { CliError } from './errors.js';

export function parseBatchJson(text: string, source: string, model: LoweredModel): Batch {
  const json = parseJsonText(text, source, 'a batch');
  if (!isPlainObject(json)) throw new CliError(`${source}: a batch is a JSON object mapping input and target names to tensors`);
  const fields = [...model.inputs, ...model.targets];
  const own = model.targetAxis;
  const known = new Set([...fields.map((f) => f.name), 'lengths', ...(own !== undefined ? ['target_lengths'] : [])]);
  for (const k of Object.keys(json)) {
    if (!known.has(k)) throw new CliError(`${source}: the model has no input or target "${k}" (it has ${fields.map((f) => f.name).join(', ')})`);
  }
  let B = -1;
  let T = -1;
  let U = -1;
  const read = (f: IoSpec) => {
    const v = json[f.name];
    if (v === undefined) throw new CliError(`${source}: "${f.name}" is missing`);
    const t = checkTensorJson(v, f.name, source);
    const seq = f.type.kind === 'tokens' || f.type.kind === 'vectors';
    // The exact shape the model declares: the rank, and every size but B and T.
    const lead = seq ? ['B', 'T'] : ['B'];
    const tail = f.type.kind === 'vectors' || f.type.kind === 'vector' ? f.type.dims : [];
    const want = `[${[...lead, ...tail.map(String)].join(', ')}]`;
    const got = `[${t.shape.join(', ')}]`;
    if (t.shape.length !== lead.length + tail.length || tail.some((d, i) => typeof d === 'number' && t.shape[lead.length + i] !== d)) {
      throw new CliError(
        `${source}: "${f.name}" has shape ${got}, but the model's ${f.type.kind === 'tokens' || f.type.kind === 'token' ? 'token ids' : 'vectors'} ` +
          `"${f.name}" take ${want}${f.type.kind === 'tokens' || f.type.kind === 'token' ? ' (one id per position, not one-hot)' : ''}`,
      );
    }
    const b = t.shape[0]!;
    if (b === 0) throw new CliError(`${source}: "${f.name}" has shape ${got}: a batch needs at least one example (B >= 1)`);
    if (B >= 0 && b !== B) throw new CliError(`${source}: "${f.name}" has batch size ${b}, another field has ${B}`);
    B = b;
    if (seq && f.name === own) {
      // The target of its own length: U steps, not the inputs' T.
      U = t.shape[1]!;
      if (U === 0) throw new CliError(`${source}: "${f.name}" has shape ${got}: a sequence needs at least one step (U >= 1)`);
    } else if (seq) {
      const steps = t.shape[1]!;
      if (steps === 0) throw new CliError(`${source}: "${f.name}" has shape ${got}: a sequence needs at least one step (T >= 1)`);
      if (T >= 0 && steps !== T) throw new CliError(`${source}: "${f.name}" has ${steps} steps, another field has ${T}`);
      T = steps;
    }
    if (f.type.kind === 'tokens' || f.type.kind === 'token') {
      const vocab = f.type.vocab as number;
      t.data.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= vocab) {
          throw new CliError(`${source}: "${f.name}"[${i}] = ${id} is not a token id in [0, ${vocab})`);
        }
      });
    }
    return { f, t, seq };
  };
  const parsed = fields.map(read);
  // A model without sequences runs one step.
  if (T < 0) T = 1;
  const lengths = new Int32Array(B).fill(T);
  if (json['lengths'] !== undefined) {
    const l = json['lengths'];
    if (!Array.isArray(l) || l.length !== B || l.some((x) => !Number.isInteger(x) || x < 1 || x > T)) {
      throw new CliError(`${source}: "lengths" must be ${B} whole numbers between 1 and ${T}`);
    }
    l.forEach((x, i) => (lengths[i] = x as number));
  }
  const targetLengths = new Int32Array(B).fill(U);
  if (json['target_lengths'] !== undefined) {
    const l = json['target_lengths'];
    if (!Array.isArray(l) || l.length !== B || l.some((x) => !Number.isInteger(x) || x < 1 || x > U)) {
      throw new CliError(`${source}: "target_lengths" must be ${B} whole numbers between 1 and ${U} (the steps of "${own}")`);
    }
    l.forEach((x, i) => (targetLengths[i] = x as number));
  }
  const timeMajor = (data: Float64Array, inner: number, dtype: 'int32' | 'float32', shapeTail: number[], steps = T): HostTensor => {
    const out = dtype === 'int32' ? new Int32Array(steps * B * inner) : new Float32Array(steps * B * inner);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < steps; t++)
        for (let k = 0; k < inner; k++) out[(t * B + b) * inner + k] = data[(b * steps + t) * inner + k]!;
    return { dtype, shape: [steps, B, ...shapeTail], data: out };
  };
  const tensors = parsed.map(({ f, t, seq }) => {
    const dtype = f.type.kind === 'tokens' || f.type.kind === 'token' ? 'int32' : 'float32';
    if (seq) {
      const tail = t.shape.slice(2);
      return timeMajor(Float64Array.from(t.data), tail.reduce((a, b) => a * b, 1), dtype, tail, f.name === own ? U : T);
    }
    const data = dtype === 'int32' ? Int32Array.from(t.data) : Float32Array.from(t.data);
    return { dtype, shape: [...t.shape], data } as HostTensor;
  });
  const mask = new Float32Array(T * B);
  const last = new Float32Array(T * B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]!; t++) mask[t * B + b] = 1;
    last[(lengths[b]! - 1) * B + b] = 1;
  }
  return {
    inputs: tensors.slice(0, model.inputs.length),
    targets: tensors.slice(model.inputs.length),
    mask: { dtype: 'float32', shape: [T, B], data: mask },
    last: { dtype: 'float32', shape: [T, B], data: last },
    lengths,
    batchSize: B,
    steps: T,
    ...(own !== undefined ? { target: { steps: U, mask: ownMask(targetLengths, U), lengths: targetLengths } } : {}),
  };
}

/** The [U, B] mask of targets of these lengths. */
function ownMask(lengths: Int32Array, U: number): HostTensor {
  const B = lengths.length;
  const data = new Float32Array(U * B);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) data[t * B + b] = 1;
  });
  return { dtype: 'float32', shape: [U, B], data };
}
