// Training checkpoints: everything needed to resume a run exactly (parameters,
// optimizer slots and step, the Rng's state, the position in the epoch) as
// one JSON file, written atomically through FileIO so a crash mid-write
// leaves the previous checkpoint intact.
//
// Tensors are stored as plain JSON numbers: every float32 is exactly a
// double, and JSON.stringify prints the shortest text that reads back to the
// same double, so float32 values round-trip bit-for-bit without the bulk and
// opacity of base64 or strings.
import * as v from 'valibot';
import { RuntimeUserError, type FileIO } from './io.js';
import { checkTensorJson, isPlainObject, parseJsonText } from './params-json.js';
import type { RngState } from './rng.js';
import type { OptimizerState, TensorJson } from './train/optimizers.js';

export interface Checkpoint {
  version: 1;
  model: string;
  step: number;
  epoch: number;
  batchInEpoch: number;
  params: Record<string, TensorJson>;
  optimizer: OptimizerState;
  rng: RngState;
  extra?: Record<string, unknown>;
}

export const CHECKPOINT_VERSION = 1;

export function saveCheckpoint(io: FileIO, path: string, ckpt: Checkpoint): void {
  // Validate on the way out too: a NaN would become null in JSON and make a
  // checkpoint that loadCheckpoint rejects only when it is needed.
  validate(ckpt, path, 'save');
  io.writeTextAtomic(path, JSON.stringify(ckpt) + '\n');
}

export function loadCheckpoint(io: FileIO, path: string): Checkpoint {
  if (!io.exists(path)) throw new RuntimeUserError(`checkpoint not found: ${path}`);
  const text = io.readText(path);
  let root: unknown;
  try {
    root = parseJsonText(text, path, 'checkpoint');
  } catch (e) {
    if (!(e instanceof RuntimeUserError)) throw e;
    throw new RuntimeUserError(
      `${e.message}\n  the checkpoint is corrupt: it was not written by rnnc, or it was truncated (e.g. a full disk or a copy that did not finish)`,
    );
  }
  return validate(root, path, 'load');
}

const count = (name: string) => {
  const message = `"${name}" must be a non-negative integer`;
  return v.pipe(v.number(message), v.integer(message), v.minValue(0, message));
};
const RNG_WORDS = '"rng.s" must be four 32-bit unsigned integers';
const u32 = v.pipe(v.number(RNG_WORDS), v.integer(RNG_WORDS), v.minValue(0, RNG_WORDS), v.maxValue(0xffffffff, RNG_WORDS));

/**
 * The checkpoint format below "version" (checked first, for its own
 * message), checked once when a checkpoint is read or written; the tensors
 * (params, optimizer slots) then go through params-json.ts's tensor schema,
 * entry by entry, so their messages name the entry.
 */
const CHECKPOINT_SCHEMA = v.object({
  model: v.string('"model" must be a string'),
  step: count('step'),
  epoch: count('epoch'),
  batchInEpoch: count('batchInEpoch'),
  params: v.record(v.string(), v.unknown(), '"params" must be an object'),
  optimizer: v.object(
    {
      name: v.string('"optimizer.name" must be a string'),
      step: count('optimizer.step'),
      slots: v.record(v.string(), v.record(v.string(), v.unknown(), 'each entry of "optimizer.slots" must be an object'), '"optimizer.slots" must be an object'),
    },
    '"optimizer" must be an object',
  ),
  rng: v.object(
    {
      s: v.strictTuple([u32, u32, u32, u32], RNG_WORDS),
      spare: v.union([v.null(), v.pipe(v.number(), v.finite())], '"rng.spare" must be a number or null'),
    },
    '"rng" must be an object',
  ),
  extra: v.optional(v.record(v.string(), v.unknown(), '"extra" must be an object')),
});

/** Checks the structure field by field and returns it typed; messages name the field. */
function validate(root: unknown, path: string, mode: 'save' | 'load'): Checkpoint {
  const bad = (what: string): never => {
    throw new RuntimeUserError(
      mode === 'load'
        ? `checkpoint ${path} is corrupt: ${what} (it was not written by rnnc, or it was edited)`
        : `cannot write checkpoint ${path}: ${what}`,
    );
  };
  const source = mode === 'load' ? `checkpoint ${path}` : `cannot write checkpoint ${path}`;
  if (!isPlainObject(root)) return bad('the top level is not a JSON object');
  const version = root['version'];
  if (version !== CHECKPOINT_VERSION) {
    if (typeof version === 'number') {
      throw new RuntimeUserError(
        `checkpoint ${path} has format version ${version}; this rnnc reads version ${CHECKPOINT_VERSION}`,
      );
    }
    bad('"version" is missing');
  }
  const r = v.safeParse(CHECKPOINT_SCHEMA, root, { abortEarly: true });
  if (!r.success) return bad(r.issues[0].message);
  for (const [name, t] of Object.entries(r.output.params)) checkTensorJson(t, `params["${name}"]`, source);
  for (const [param, entry] of Object.entries(r.output.optimizer.slots)) {
    for (const [slot, t] of Object.entries(entry)) checkTensorJson(t, `optimizer.slots["${param}"]["${slot}"]`, source);
  }
  // Every field has been checked against the interface above.
  return root as unknown as Checkpoint;
}
