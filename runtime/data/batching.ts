// Examples -> time-major batches, the windows truncated BPTT trains on, and
// the binding of a model's named dimensions to what the data fixes.
//
// Layout: a sequence field becomes [T, B, ...] with element (t, b, k) at
// (t * B + b) * P + k (P = product of the per-step dims); a per-example field
// becomes [B, ...]. T is the batch's longest sequence; shorter ones are padded
// with id 0 / value 0 and masked out. Time-major because the recurrence walks
// the leading axis: step t is one contiguous [B, ...] slab.
//
// Order: with an Rng the examples are shuffled; with bucketing (default for
// variable-length data when shuffling) the shuffled order is cut into chunks
// of BUCKET_BATCHES batches, each chunk sorted by length and cut into
// batches, and the batches shuffled again. Padding stays small, every epoch's
// order is still seeded-random. Without an Rng the order is the examples'.
// The last partial batch is kept (it is the final one before the batch
// shuffle). Everything depends only on the examples and the Rng's state.
import { RuntimeUserError } from '../io.js';
import type { Rng } from '../rng.js';
import type { Batch, Example, FieldSpec, FieldType, FieldValue, HostTensor } from './types.js';
import { Vocab } from './vocab.js';

/** How many batches one length-sorted chunk spans: larger means less padding but less mixing of lengths. */
export const BUCKET_BATCHES = 16;

export interface BatchSpecs {
  inputs: readonly FieldSpec[];
  targets: readonly FieldSpec[];
  /** The targets' sequences have a length of their own (Batch.target), not the inputs'. */
  separateTargets?: boolean;
}

export interface MakeBatchesOptions {
  /** Sort by length within shuffled chunks; default: true when lengths vary and an Rng is given. */
  bucket?: boolean;
}

// Tensors makeBatches / sliceBatchTime laid out time-major. Shapes alone are
// ambiguous in one corner ([T, B, D] vs a per-example [B, L, D] when
// T = B = L), so the batcher remembers what it made.
const timeMajor = new WeakSet<HostTensor>();
/** Per-example tensors whose layout was declared (adoptBatch), never guessed. */
const exampleMajor = new WeakSet<HostTensor>();

function prod(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function isSeq(t: FieldType): boolean {
  return t.kind === 'tokens' || t.kind === 'vectors';
}

/** Steps of a sequence value; null for per-example values. Checks the value against its spec. */
function valueSteps(v: FieldValue, spec: FieldSpec, where: string): number | null {
  const t = spec.type;
  if (v.kind !== t.kind) throw new Error(`internal: ${where} field "${spec.name}" is declared ${t.kind} but holds ${v.kind}`);
  switch (v.kind) {
    case 'tokens': {
      const V = (t as { vocab: number }).vocab;
      for (let i = 0; i < v.ids.length; i++) {
        const id = v.ids[i]!;
        if (id < 0 || id >= V) throw new Error(`internal: ${where} field "${spec.name}" has id ${id} outside [0, ${V})`);
      }
      return v.ids.length;
    }
    case 'vectors': {
      const P = prod((t as { dims: number[] }).dims);
      if (v.data.length !== v.steps * P) {
        throw new Error(`internal: ${where} field "${spec.name}" holds ${v.data.length} values, not ${v.steps} steps * ${P}`);
      }
      return v.steps;
    }
    case 'token': {
      const K = (t as { vocab: number }).vocab;
      if (!Number.isInteger(v.id) || v.id < 0 || v.id >= K) {
        throw new Error(`internal: ${where} field "${spec.name}" has class ${v.id} outside [0, ${K})`);
      }
      return null;
    }
    case 'vector': {
      const P = prod((t as { dims: number[] }).dims);
      if (v.data.length !== P) throw new Error(`internal: ${where} field "${spec.name}" holds ${v.data.length} values, not ${P}`);
      return null;
    }
  }
}

/**
 * The number of steps of an example: the common length of its sequence
 * fields, 1 when it has none. One mask per batch cannot describe sequences of
 * different lengths in one example (e.g. a source and a target sentence), so
 * that is an error here rather than silently wrong padding.
 */
export function exampleLength(ex: Example, specs: BatchSpecs, index = 0): number {
  if (ex.inputs.length !== specs.inputs.length || ex.targets.length !== specs.targets.length) {
    throw new Error(
      `internal: example ${index} has ${ex.inputs.length} inputs and ${ex.targets.length} targets; ` +
        `the specs declare ${specs.inputs.length} and ${specs.targets.length}`,
    );
  }
  // Where the example was read, else its place in the batch.
  const at = ex.where ?? `example ${index}`;
  let len: number | null = null;
  let first = '';
  const visit = (v: FieldValue, spec: FieldSpec, where: string): void => {
    const s = valueSteps(v, spec, `${at}: ${where}`);
    if (s === null) return;
    if (s < 1) throw new RuntimeUserError(`${at}: sequence "${spec.name}" is empty`);
    if (len === null) {
      len = s;
      first = spec.name;
    } else if (s !== len) {
      throw new RuntimeUserError(
        `${at}: sequence "${spec.name}" has ${s} steps but "${first}" has ${len}; ` +
          `all sequences of one example must have the same length`,
      );
    }
  };
  ex.inputs.forEach((v, i) => visit(v, specs.inputs[i]!, 'input'));
  if (specs.separateTargets) return len ?? 1;
  ex.targets.forEach((v, i) => visit(v, specs.targets[i]!, 'target'));
  return len ?? 1;
}

/** The common length of an example's target sequences, which have a length of their own (BatchSpecs.separateTargets). */
export function targetLength(ex: Example, specs: BatchSpecs, index = 0): number {
  const at = ex.where ?? `example ${index}`;
  let len: number | null = null;
  ex.targets.forEach((v, i) => {
    const spec = specs.targets[i]!;
    const s = valueSteps(v, spec, `${at}: target`);
    if (s === null) return;
    if (s < 1) throw new RuntimeUserError(`${at}: sequence "${spec.name}" is empty`);
    if (len !== null && s !== len) throw new RuntimeUserError(`${at}: target sequences of different lengths (${len} and ${s} steps)`);
    len = s;
  });
  return len ?? 1;
}

function fieldTensor(spec: FieldSpec, values: readonly FieldValue[], T: number): HostTensor {
  const B = values.length;
  const t = spec.type;
  switch (t.kind) {
    case 'tokens': {
      const data = new Int32Array(T * B);
      values.forEach((v, b) => {
        const ids = (v as { ids: Int32Array }).ids;
        for (let s = 0; s < ids.length; s++) data[s * B + b] = ids[s]!;
      });
      const out: HostTensor = { dtype: 'int32', shape: [T, B], data };
      timeMajor.add(out);
      return out;
    }
    case 'vectors': {
      const P = prod(t.dims);
      const data = new Float32Array(T * B * P);
      values.forEach((v, b) => {
        const { data: src, steps } = v as { data: Float32Array; steps: number };
        for (let s = 0; s < steps; s++) data.set(src.subarray(s * P, (s + 1) * P), (s * B + b) * P);
      });
      const out: HostTensor = { dtype: 'float32', shape: [T, B, ...t.dims], data };
      timeMajor.add(out);
      return out;
    }
    case 'token':
      return { dtype: 'int32', shape: [B], data: Int32Array.from(values, (v) => (v as { id: number }).id) };
    case 'vector': {
      const P = prod(t.dims);
      const data = new Float32Array(B * P);
      values.forEach((v, b) => data.set((v as { data: Float32Array }).data, b * P));
      return { dtype: 'float32', shape: [B, ...t.dims], data };
    }
  }
}

/** [T, B] 1 for the real steps of each length. */
function maskOf(lens: Int32Array, T: number): HostTensor {
  const B = lens.length;
  const data = new Float32Array(T * B);
  for (let b = 0; b < B; b++) for (let s = 0; s < lens[b]!; s++) data[s * B + b] = 1;
  const out: HostTensor = { dtype: 'float32', shape: [T, B], data };
  timeMajor.add(out);
  return out;
}

function buildBatch(examples: readonly Example[], idx: readonly number[], lengths: Int32Array, specs: BatchSpecs, hasSeq: boolean): Batch {
  if (specs.separateTargets) {
    const inputSpecs: BatchSpecs = { inputs: specs.inputs, targets: [] };
    const base = buildBatch(examples, idx, lengths, inputSpecs, specs.inputs.some((x) => isSeq(x.type)));
    const lens = Int32Array.from(idx, (i) => targetLength(examples[i]!, specs, i));
    const U = lens.reduce((a, b) => Math.max(a, b), 1);
    return {
      ...base,
      targets: specs.targets.map((spec, f) => fieldTensor(spec, idx.map((i) => examples[i]!.targets[f]!), U)),
      target: { steps: U, mask: maskOf(lens, U), lengths: lens },
    };
  }
  const B = idx.length;
  const lens = Int32Array.from(idx, (i) => lengths[i]!);
  const T = hasSeq ? lens.reduce((a, b) => Math.max(a, b), 1) : 1;
  const mask = new Float32Array(T * B);
  const last = new Float32Array(T * B);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < lens[b]!; s++) mask[s * B + b] = 1;
    last[(lens[b]! - 1) * B + b] = 1;
  }
  const maskT: HostTensor = { dtype: 'float32', shape: [T, B], data: mask };
  const lastT: HostTensor = { dtype: 'float32', shape: [T, B], data: last };
  timeMajor.add(maskT);
  timeMajor.add(lastT);
  return {
    inputs: specs.inputs.map((spec, f) => fieldTensor(spec, idx.map((i) => examples[i]!.inputs[f]!), T)),
    targets: specs.targets.map((spec, f) => fieldTensor(spec, idx.map((i) => examples[i]!.targets[f]!), T)),
    mask: maskT,
    last: lastT,
    lengths: lens,
    batchSize: B,
    steps: T,
  };
}

export function makeBatches(
  examples: readonly Example[],
  specs: BatchSpecs,
  batchSize: number,
  rng: Rng | null,
  opts: MakeBatchesOptions = {},
): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RuntimeUserError(`batch size must be a positive integer, not ${batchSize}`);
  }
  const hasSeq = [...specs.inputs, ...(specs.separateTargets ? [] : specs.targets)].some((s) => isSeq(s.type));
  const lengths = Int32Array.from(examples, (ex, i) => exampleLength(ex, specs, i));
  const variable = lengths.some((l) => l !== lengths[0]);
  const bucket = opts.bucket ?? (variable && rng !== null);

  const order = Array.from({ length: examples.length }, (_, i) => i);
  if (rng !== null) rng.shuffle(order);
  if (bucket) {
    const chunk = batchSize * BUCKET_BATCHES;
    for (let start = 0; start < order.length; start += chunk) {
      // Stable by position within the chunk, so ties keep the shuffled order.
      const part = order.slice(start, start + chunk).map((i, pos) => ({ i, pos }));
      part.sort((a, b) => lengths[a.i]! - lengths[b.i]! || a.pos - b.pos);
      part.forEach((p, k) => (order[start + k] = p.i));
    }
  }
  const groups: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) groups.push(order.slice(start, start + batchSize));
  // Without this, each chunk's batches would run from short to long.
  if (bucket && rng !== null) rng.shuffle(groups);
  return groups.map((g) => buildBatch(examples, g, lengths, specs, hasSeq));
}

function isTimeMajor(t: HostTensor, steps: number, batchSize: number): boolean {
  if (timeMajor.has(t)) return true;
  if (exampleMajor.has(t)) return false;
  // A batch not made here (e.g. deserialised): decide by dtype and rank, as
  // laid out above. int32 [T, B] is a token sequence, int32 [B] a label;
  // float32 rank 2 is a per-example [B, D]; float32 rank >= 3 is [T, B, ...]
  // or a per-example [B, L, D], told apart by the leading axis.
  if (t.dtype === 'int32') return t.shape.length === 2;
  if (t.shape.length < 3) return false;
  if (t.shape[0] !== batchSize) return true;
  if (steps !== batchSize) return false;
  throw new Error('internal: sliceBatchTime cannot tell [T, B, ...] from [B, L, ...] when T = B = L; pass a batch made by makeBatches');
}

/**
 * Steps t0..t1-1 of a batch, for truncated BPTT windows. Sequence tensors,
 * mask and last are sliced (as views: do not mutate them). `last` keeps its
 * meaning: 1 only where a sequence really ends, so a window in the middle of
 * a sequence has none for it, and a per-example target (kept whole, [B, ...])
 * is scored in the window that holds its sequence's end. `lengths` become the
 * number of real steps inside the window (0 for a sequence that already ended).
 */
export function sliceBatchTime(batch: Batch, t0: number, t1: number): Batch {
  if (!Number.isInteger(t0) || !Number.isInteger(t1) || t0 < 0 || t1 > batch.steps || t0 >= t1) {
    throw new Error(`internal: time window [${t0}, ${t1}) is not inside a batch of ${batch.steps} steps`);
  }
  const B = batch.batchSize;
  const sliceSteps = (t: HostTensor): HostTensor => {
    const per = t.data.length / t.shape[0]!;
    const out: HostTensor = { dtype: t.dtype, shape: [t1 - t0, ...t.shape.slice(1)], data: t.data.subarray(t0 * per, t1 * per) };
    timeMajor.add(out);
    return out;
  };
  const slice = (t: HostTensor): HostTensor => {
    if (!isTimeMajor(t, batch.steps, B)) return t;
    const per = t.data.length / t.shape[0]!;
    const out: HostTensor = { dtype: t.dtype, shape: [t1 - t0, ...t.shape.slice(1)], data: t.data.subarray(t0 * per, t1 * per) };
    timeMajor.add(out);
    return out;
  };
  return {
    inputs: batch.inputs.map(slice),
    targets: batch.targets.map(slice),
    // mask and last are [T, B] by definition: always cut to the window.
    mask: sliceSteps(batch.mask),
    last: sliceSteps(batch.last),
    lengths: Int32Array.from(batch.lengths, (l) => Math.max(0, Math.min(l, t1) - t0)),
    batchSize: B,
    steps: t1 - t0,
  };
}

/** A field as the model declares it: `dims` are names or numbers, [V] for token kinds. */
export interface DeclaredField {
  name: string;
  kind: FieldType['kind'];
  dims: readonly (string | number)[];
}

/**
 * Binds the model's named dimensions to the sizes the data fixes, e.g. a
 * model input `seq<token[V]>` against brown_chars gives { V: 85 }. Fields
 * match by position. `bound` holds names already fixed elsewhere (e.g. by
 * the model's own `H = 128`), which the data must agree with.
 */
export function bindDims(
  declared: { inputs: readonly DeclaredField[]; targets: readonly DeclaredField[] },
  data: { name: string; inputs: readonly FieldSpec[]; targets: readonly FieldSpec[] },
  bound: Readonly<Record<string, number>> = {},
): Record<string, number> {
  const out: Record<string, number> = { ...bound };
  const dimsOf = (t: FieldType): number[] => (t.kind === 'tokens' || t.kind === 'token' ? [t.vocab] : t.dims);
  const side = (which: 'input' | 'target', decl: readonly DeclaredField[], specs: readonly FieldSpec[]): void => {
    if (decl.length !== specs.length) {
      throw new RuntimeUserError(
        `the model declares ${decl.length} ${which}(s) but the data source ${data.name} provides ${specs.length} ` +
          `(${specs.map((s) => s.name).join(', ')})`,
      );
    }
    decl.forEach((d, i) => {
      const spec = specs[i]!;
      const what = `${which} "${d.name}" (data field "${spec.name}" of ${data.name})`;
      if (d.kind !== spec.type.kind) {
        throw new RuntimeUserError(`${what}: the model declares ${kindText(d.kind)} but the data has ${kindText(spec.type.kind)}`);
      }
      const actual = dimsOf(spec.type);
      if (d.dims.length !== actual.length) {
        throw new RuntimeUserError(`${what}: the model declares ${d.dims.length} dimension(s) but the data has [${actual.join(', ')}]`);
      }
      d.dims.forEach((dim, k) => {
        const size = actual[k]!;
        if (typeof dim === 'number') {
          if (dim !== size) {
            const declaredShape = `[${d.dims.map(String).join(', ')}]`;
            const dataShape = `[${actual.join(', ')}]`;
            throw new RuntimeUserError(
              `${what}: the model declares ${declaredShape} but the data has ${dataShape}` +
                `${d.dims.length > 1 ? ` (axis ${k + 1}: ${dim} against ${size})` : ''}; declare ${which} "${d.name}" as the data gives it, or check which columns or keys it reads`,
            );
          }
          return;
        }
        const prev = out[dim];
        if (prev !== undefined && prev !== size) {
          throw new RuntimeUserError(`${what}: ${dim} would be ${size} here but is already ${prev}`);
        }
        out[dim] = size;
      });
    });
  };
  side('input', declared.inputs, data.inputs);
  side('target', declared.targets, data.targets);
  return out;
}

function kindText(kind: FieldType['kind']): string {
  switch (kind) {
    case 'tokens':
      return 'a token sequence seq<token[..]>';
    case 'vectors':
      return 'a vector sequence seq<[..]>';
    case 'token':
      return 'one token per example token[..]';
    case 'vector':
      return 'one tensor per example [..]';
  }
}

/**
 * Splits a batch into `n` batches of consecutive examples (sizes differ by at
 * most one; the last ones are empty when B < n), for data-parallel training.
 * Every part keeps the batch's T, so truncated-BPTT windows line up across parts.
 */
export function shardBatch(batch: Batch, specs: BatchSpecs, n: number): Batch[] {
  const B = batch.batchSize;
  const out: Batch[] = [];
  for (let k = 0, b0 = 0; k < n; k++) {
    const b1 = b0 + Math.floor(B / n) + (k < B % n ? 1 : 0);
    out.push(sliceBatchExamples(batch, specs, b0, b1));
    b0 = b1;
  }
  return out;
}

/** Examples b0..b1-1 of a batch (none when b0 = b1), copied (time-major fields are strided). */
export function sliceBatchExamples(batch: Batch, specs: BatchSpecs, b0: number, b1: number): Batch {
  const B = batch.batchSize;
  const T = batch.steps;
  if (!Number.isInteger(b0) || !Number.isInteger(b1) || b0 < 0 || b1 > B || b0 > b1) {
    throw new Error(`internal: examples [${b0}, ${b1}) are not inside a batch of ${B}`);
  }
  const n = b1 - b0;
  const timeSlice = (t: HostTensor): HostTensor => {
    const per = t.shape.slice(2).reduce((a, d) => a * d, 1);
    const data = new (t.data.constructor as Int32ArrayConstructor | Float32ArrayConstructor)(T * n * per);
    for (let s = 0; s < T; s++) data.set(t.data.subarray((s * B + b0) * per, (s * B + b1) * per), s * n * per);
    const out: HostTensor = { dtype: t.dtype, shape: [T, n, ...t.shape.slice(2)], data };
    timeMajor.add(out);
    return out;
  };
  const exampleSlice = (t: HostTensor): HostTensor => {
    const per = t.shape.slice(1).reduce((a, d) => a * d, 1);
    return { dtype: t.dtype, shape: [n, ...t.shape.slice(1)], data: t.data.slice(b0 * per, b1 * per) };
  };
  const field = (spec: FieldSpec, t: HostTensor): HostTensor => (isSeq(spec.type) ? timeSlice(t) : exampleSlice(t));
  const target = batch.target;
  if (target) {
    const own = sliceBatchExamples({ ...batch, steps: target.steps, mask: target.mask, last: target.mask, inputs: batch.targets, targets: [], target: undefined }, { inputs: specs.targets, targets: [] }, b0, b1);
    return {
      inputs: specs.inputs.map((s, i) => field(s, batch.inputs[i]!)),
      targets: own.inputs,
      mask: timeSlice(batch.mask),
      last: timeSlice(batch.last),
      lengths: batch.lengths.slice(b0, b1),
      batchSize: n,
      steps: T,
      target: { steps: target.steps, mask: own.mask, lengths: target.lengths.slice(b0, b1) },
    };
  }
  return {
    inputs: specs.inputs.map((s, i) => field(s, batch.inputs[i]!)),
    targets: specs.targets.map((s, i) => field(s, batch.targets[i]!)),
    mask: timeSlice(batch.mask),
    last: timeSlice(batch.last),
    lengths: batch.lengths.slice(b0, b1),
    batchSize: n,
    steps: T,
  };
}

/**
 * Restores the layout marks of a batch that crossed a thread boundary
 * (structured clone keeps the arrays but not which ones are time-major), so
 * sliceBatchTime never has to guess.
 */
export function adoptBatch(batch: Batch, specs: BatchSpecs): Batch {
  const mark = (s: FieldSpec, t: HostTensor): void => void (isSeq(s.type) ? timeMajor.add(t) : exampleMajor.add(t));
  specs.inputs.forEach((s, i) => mark(s, batch.inputs[i]!));
  specs.targets.forEach((s, i) => mark(s, batch.targets[i]!));
  timeMajor.add(batch.mask);
  timeMajor.add(batch.last);
  if (batch.target) timeMajor.add(batch.target.mask);
  return batch;
}

/**
 * Fields the data read as one kind where the model declares another, turned
 * into what the model declares, in place, before the sizes are bound:
 *   - whole numbers read as token ids (a jsonl or csv column of counts,
 *     prices, ratings: no names) where the model declares real values: a
 *     token becomes a vector [1], token ids per example a vector of their
 *     numbers, token ids per step a sequence of [1] vectors;
 *   - text read as characters where the model declares one token per
 *     example (`target y: token[K]`): each distinct text is a class, in
 *     code-unit order (`"negative"` 0, `"positive"` 1), with that vocabulary.
 * Other fields are left as they are. The task follows the target.
 */
export function fieldsAsDeclared<D extends { inputs: FieldSpec[]; targets: FieldSpec[]; train: Example[]; valid: Example[]; task?: string }>(
  declared: { inputs: readonly DeclaredField[]; targets: readonly DeclaredField[] },
  data: D,
): D {
  const all = [...data.train, ...data.valid];
  const side = (decl: readonly DeclaredField[], specs: FieldSpec[], which: 'inputs' | 'targets'): void => {
    decl.forEach((d, k) => {
      const spec = specs[k];
      if (!spec) return;
      const from = spec.type.kind;
      const to = d.kind;
      const convert = (fn: (v: FieldValue) => FieldValue): void => {
        for (const e of all) e[which][k] = fn(e[which][k]!);
      };
      if (spec.vocab !== undefined) {
        if (from !== 'tokens' || to !== 'token') return;
        const chars = spec.vocab;
        const text = (v: FieldValue): string => (v.kind === 'tokens' ? Array.from(v.ids, (id) => chars.token(id)).join('') : '');
        // The classes are the training labels: a label only validation examples have is a class nothing teaches.
        const counts = new Map<string, number>();
        for (const e of data.train) counts.set(text(e[which][k]!), (counts.get(text(e[which][k]!)) ?? 0) + 1);
        const unseen = data.valid.find((e) => !counts.has(text(e[which][k]!)));
        if (unseen !== undefined) {
          throw new RuntimeUserError(
            `${unseen.where ?? 'a validation example'}: "${spec.name}" is ${JSON.stringify(text(unseen[which][k]!))}, a label no training example has (the training labels: ${[...counts.keys()].sort().map((l) => JSON.stringify(l)).join(', ')}); ` +
              'give the training split examples of every class, or leave such examples out',
          );
        }
        const labels = Vocab.fromCounts(counts, { order: 'lexicographic' });
        convert((v) => ({ kind: 'token', id: labels.id(text(v)) }));
        specs[k] = { name: spec.name, type: { kind: 'token', vocab: labels.size }, vocab: labels };
        if (which === 'targets' && data.task !== undefined) data.task = 'classification';
        return;
      }
      if (from === 'token' && to === 'vector') {
        convert((v) => (v.kind === 'token' ? { kind: 'vector', data: Float32Array.of(v.id) } : v));
        specs[k] = { name: spec.name, type: { kind: 'vector', dims: [1] } };
      } else if (from === 'tokens' && to === 'vector') {
        const lengths = new Set(all.map((e) => (e[which][k] as { ids?: Int32Array }).ids?.length ?? -1));
        if (lengths.size !== 1) return;
        convert((v) => (v.kind === 'tokens' ? { kind: 'vector', data: Float32Array.from(v.ids) } : v));
        specs[k] = { name: spec.name, type: { kind: 'vector', dims: [[...lengths][0]!] } };
      } else if (from === 'tokens' && to === 'vectors') {
        convert((v) => (v.kind === 'tokens' ? { kind: 'vectors', data: Float32Array.from(v.ids), steps: v.ids.length } : v));
        specs[k] = { name: spec.name, type: { kind: 'vectors', dims: [1] } };
      } else return;
      if (which === 'targets' && data.task !== undefined) data.task = 'regression';
    });
  };
  const shared = [...data.inputs, ...data.targets].map((f) => f.vocab);
  side(declared.inputs, data.inputs, 'inputs');
  side(declared.targets, data.targets, 'targets');
  type User = { which: 'inputs' | 'targets'; k: number };
  const usersOf = (v: Vocab): User[] =>
    (['inputs', 'targets'] as const).flatMap((which) => data[which].flatMap((f, k) => (f.vocab === v && f.type.kind === 'tokens' ? [{ which, k }] : [])));
  // A character vocabulary shared with a field that became labels no longer counts the labels' characters.
  const relabelled = shared.filter((v, k) => v !== undefined && [...data.inputs, ...data.targets][k]!.vocab !== v);
  for (const old of new Set(relabelled)) ownCharacters(data, old!, all, usersOf(old!));
  // Fields sharing a vocabulary whose sizes the model names differently (`x: seq<token[V]>`, tags `y: seq<token[K]>`)
  // get one each: a tag is not one of the input's characters. Fields of one size name (a language model's V) keep theirs.
  for (const v of new Set([...data.inputs, ...data.targets].map((f) => f.vocab))) {
    if (v === undefined) continue;
    const users = usersOf(v);
    const sizeName = (u: User): string => String((u.which === 'inputs' ? declared.inputs : declared.targets)[u.k]?.dims[0]);
    const groups = new Map<string, User[]>();
    for (const u of users) groups.set(sizeName(u), [...(groups.get(sizeName(u)) ?? []), u]);
    if (groups.size > 1) for (const g of groups.values()) ownCharacters(data, v, all, g);
  }
  return data;
}

/** The fields `users` (which use `old`) get a vocabulary of their own characters, their ids renumbered. */
function ownCharacters(data: { inputs: FieldSpec[]; targets: FieldSpec[] }, old: Vocab, all: readonly Example[], users: readonly { which: 'inputs' | 'targets'; k: number }[]): void {
  if (users.length === 0) return;
  const counts = new Map<string, number>();
  for (const e of all) {
    for (const { which, k } of users) {
      const v = e[which][k]!;
      if (v.kind === 'tokens') for (const id of v.ids) counts.set(old.token(id), (counts.get(old.token(id)) ?? 0) + 1);
    }
  }
  const own = Vocab.fromCounts(counts, { order: 'lexicographic' });
  const map = Int32Array.from(old.tokens, (t) => (own.has(t) ? own.id(t) : -1));
  for (const e of all) {
    for (const { which, k } of users) {
      const v = e[which][k]!;
      if (v.kind === 'tokens') e[which][k] = { kind: 'tokens', ids: Int32Array.from(v.ids, (id) => map[id]!) };
    }
  }
  for (const { which, k } of users) data[which][k] = { ...data[which][k]!, type: { kind: 'tokens', vocab: own.size }, vocab: own };
}
