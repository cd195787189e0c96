// Training checkpoints: everything needed to resume a run exactly (parameters,
// optimizer slots and step, the Rng's state, the position in the epoch) as
// one JSON file, written atomically through FileIO so a crash mid-write
// leaves the previous checkpoint intact.
//
// Tensors are stored as plain JSON numbers: every float32 is exactly a
// double, and JSON.stringify prints the shortest text that reads back to the
// same double, so float32 values round-trip bit-for-bit without the bulk and
// opacity of base64 or strings.
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
  if (typeof root['model'] !== 'string') bad('"model" must be a string');
  const count = (key: string): number => {
    const v = root[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(`"${key}" must be a non-negative integer`);
    return v as number;
  };
  count('step');
  count('epoch');
  count('batchInEpoch');

  const params = root['params'];
  if (!isPlainObject(params)) return bad('"params" must be an object');
  for (const [name, t] of Object.entries(params)) checkTensorJson(t, `params["${name}"]`, source);

  const opt = root['optimizer'];
  if (!isPlainObject(opt)) return bad('"optimizer" must be an object');
  if (typeof opt['name'] !== 'string') bad('"optimizer.name" must be a string');
  const optStep = opt['step'];
  if (typeof optStep !== 'number' || !Number.isInteger(optStep) || optStep < 0) {
    bad('"optimizer.step" must be a non-negative integer');
  }
  const slots = opt['slots'];
  if (!isPlainObject(slots)) return bad('"optimizer.slots" must be an object');
  for (const [param, entry] of Object.entries(slots)) {
    if (!isPlainObject(entry)) return bad(`"optimizer.slots["${param}"]" must be an object`);
    for (const [slot, t] of Object.entries(entry)) {
      checkTensorJson(t, `optimizer.slots["${param}"]["${slot}"]`, source);
    }
  }

  const rng = root['rng'];
  if (!isPlainObject(rng)) return bad('"rng" must be an object');
  const s = rng['s'];
  if (
    !Array.isArray(s) ||
    s.length !== 4 ||
    !s.every((w: unknown) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffffffff)
  ) {
    bad('"rng.s" must be four 32-bit unsigned integers');
  }
  const spare = rng['spare'];
  if (spare !== null && !(typeof spare === 'number' && Number.isFinite(spare))) {
    bad('"rng.spare" must be a number or null');
  }
  if ('extra' in root && root['extra'] !== undefined && !isPlainObject(root['extra'])) {
    bad('"extra" must be an object');
  }
  // Every field has been checked against the interface above.
  return root as unknown as Checkpoint;
}
