// The dataset contract between the data sources (this folder) and the
// training loop. Loaders produce `Dataset`s of host-side `Example`s;
// batching.ts turns them into time-major `Batch`es. No tfjs here: tensors are
// plain typed arrays so that data code runs and tests without a backend.
import type { Vocab } from './vocab.js';

export type FieldType =
  | { kind: 'tokens'; vocab: number } // seq<token[V]>: one id per step
  | { kind: 'vectors'; dims: number[] } // seq<[D]> (dims=[D]) : one vector per step
  | { kind: 'token'; vocab: number } // token[K]: one id per example
  | { kind: 'vector'; dims: number[] }; // [D] or [L, D]: one tensor per example

/** `vocab` is set for token fields whose ids stand for strings (characters, words, tags). */
export interface FieldSpec {
  name: string;
  type: FieldType;
  vocab?: Vocab;
}

export type FieldValue =
  | { kind: 'tokens'; ids: Int32Array }
  | { kind: 'vectors'; data: Float32Array; steps: number } // steps * prod(dims), step-major
  | { kind: 'token'; id: number }
  | { kind: 'vector'; data: Float32Array };

/** Positional: `inputs[i]` matches `Dataset.inputs[i]`, `targets[i]` matches `Dataset.targets[i]`. */
export interface Example {
  inputs: FieldValue[];
  targets: FieldValue[];
  /** Where it was read (`data.jsonl:30`), for errors about it; absent for generated data. */
  where?: string;
}

// Named dimensions (e.g. V in a model's `seq<token[V]>`) are not stored here:
// the data fixes them through the field types, and `bindDims` in batching.ts
// binds a model's declared names to these values.
export interface Dataset {
  name: string;
  inputs: FieldSpec[];
  targets: FieldSpec[];
  train: Example[];
  valid: Example[];
  /** What the loss measures for reporting: 'lm' (next-token: report perplexity and bits/char), 'tagging', 'classification', 'regression'. */
  task: 'lm' | 'tagging' | 'classification' | 'regression';
  /** One line for the CLI, e.g. "Brown corpus characters: 1.2M train chars, vocab 78". */
  description: string;
}

export interface HostTensor {
  dtype: 'int32' | 'float32';
  shape: number[];
  data: Int32Array | Float32Array;
}

/** Time-major batch: sequences are [T, B, ...]; per-example values are [B, ...]. */
export interface Batch {
  inputs: HostTensor[];
  targets: HostTensor[];
  /** [T, B] 1 for real steps, 0 for padding (all ones when no field is a sequence: then T = 1). */
  mask: HostTensor;
  /** [T, B] 1 at each sequence's last real step. */
  last: HostTensor;
  lengths: Int32Array;
  batchSize: number;
  steps: number;
  /**
   * For a model whose targets have a length of their own (a decoder that
   * writes its target, docs/language.md "Decoders"): the targets are
   * [U, B, ...] over their own steps, with their own [U, B] mask.
   */
  target?: { steps: number; mask: HostTensor; lengths: Int32Array };
}

/** True for the field kinds that have one value per time step. */
export function isSequenceType(t: FieldType): t is Extract<FieldType, { kind: 'tokens' | 'vectors' }> {
  return t.kind === 'tokens' || t.kind === 'vectors';
}
