// A vocabulary: the bijection between token strings and the integer ids the
// models see. It is built deterministically so that the same data always
// gives the same ids (a checkpoint stores the vocabulary as JSON next to the
// weights, and `fromJSON` restores it exactly).
//
// Order, chosen once for every source and documented here:
//   - 'frequency' (words, tags): by count descending, ties by code-unit
//     order of the strings. Frequency order is what `maxSize` needs (it keeps
//     the head), and the most common tokens get small ids.
//   - 'lexicographic' (characters): by code-unit order, so that ids are
//     readable ('a' < 'b') and independent of how often a character occurs.
// Strings are compared by UTF-16 code units (`<`), never `localeCompare`,
// whose result depends on the machine's locale and ICU version.
// When present, `<unk>` is always id 0: it is then never cut by `maxSize` and
// does not shift when the data changes.
import { RuntimeUserError } from '../io.js';

export const UNK = '<unk>';

export type VocabOrder = 'frequency' | 'lexicographic';

export interface VocabBuildOptions {
  order: VocabOrder;
  /** The most tokens kept, `<unk>` included; the rest map to `<unk>`. */
  maxSize?: number;
  /** Reserve `<unk>` even when nothing is cut (e.g. validation data may hold unseen tokens). */
  unk?: boolean;
}

export interface VocabJSON {
  tokens: string[];
  unk: boolean;
}

export class Vocab {
  readonly tokens: readonly string[];
  /** The id of `<unk>`, or null when this vocabulary has none and unknown tokens are an error. */
  readonly unkId: number | null;
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], unk: boolean) {
    if (unk && tokens[0] !== UNK) throw new Error(`internal: a vocabulary with ${UNK} must have it at id 0`);
    const index = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (index.has(t)) throw new Error(`internal: duplicate vocabulary token ${JSON.stringify(t)}`);
      index.set(t, i);
    });
    this.tokens = tokens.slice();
    this.index = index;
    this.unkId = unk ? 0 : null;
  }

  /** Counts `items` and orders the distinct ones as documented at the top of this file. */
  static build(items: Iterable<string>, opts: VocabBuildOptions): Vocab {
    const counts = new Map<string, number>();
    for (const t of items) counts.set(t, (counts.get(t) ?? 0) + 1);
    return Vocab.fromCounts(counts, opts);
  }

  static fromCounts(counts: ReadonlyMap<string, number>, opts: VocabBuildOptions): Vocab {
    const entries = [...counts.entries()].filter(([t]) => t !== UNK);
    if (opts.order === 'frequency') {
      entries.sort((a, b) => b[1] - a[1] || compareCodeUnits(a[0], b[0]));
    } else {
      entries.sort((a, b) => compareCodeUnits(a[0], b[0]));
    }
    let kept = entries.map(([t]) => t);
    let unk = opts.unk === true || counts.has(UNK);
    if (opts.maxSize !== undefined) {
      if (!Number.isInteger(opts.maxSize) || opts.maxSize < 2) {
        throw new RuntimeUserError(`a vocabulary size limit must be an integer of at least 2, not ${opts.maxSize}`);
      }
      if (kept.length + (unk ? 1 : 0) > opts.maxSize) {
        unk = true;
        // Cut by frequency even for lexicographic vocabularies: what is kept
        // must be the most useful tokens, then re-sorted into the order asked for.
        const byFreq = entries.slice().sort((a, b) => b[1] - a[1] || compareCodeUnits(a[0], b[0]));
        const keep = new Set(byFreq.slice(0, opts.maxSize - 1).map(([t]) => t));
        kept = kept.filter((t) => keep.has(t));
      }
    }
    return new Vocab(unk ? [UNK, ...kept] : kept, unk);
  }

  get size(): number {
    return this.tokens.length;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** The id of `token`; unknown tokens map to `<unk>`, or throw when there is none. */
  id(token: string): number {
    const i = this.index.get(token);
    if (i !== undefined) return i;
    if (this.unkId !== null) return this.unkId;
    throw new RuntimeUserError(
      `${JSON.stringify(token)} is not in the vocabulary (${this.size} tokens, no ${UNK})`,
    );
  }

  /** The id of `token`, or undefined when it is not in the vocabulary (no `<unk>` fallback). */
  lookup(token: string): number | undefined {
    return this.index.get(token);
  }

  token(id: number): string {
    const t = this.tokens[id];
    if (t === undefined || !Number.isInteger(id)) {
      throw new RuntimeUserError(`token id ${id} is out of range for a vocabulary of ${this.size}`);
    }
    return t;
  }

  toJSON(): VocabJSON {
    return { tokens: this.tokens.slice(), unk: this.unkId !== null };
  }

  static fromJSON(json: unknown): Vocab {
    if (typeof json !== 'object' || json === null) throw new RuntimeUserError('a stored vocabulary must be an object');
    const rec = json as Record<string, unknown>;
    const tokens = rec['tokens'];
    const unk = rec['unk'];
    if (!Array.isArray(tokens) || !tokens.every((t): t is string => typeof t === 'string')) {
      throw new RuntimeUserError('a stored vocabulary needs "tokens": an array of strings');
    }
    if (typeof unk !== 'boolean') throw new RuntimeUserError('a stored vocabulary needs "unk": a boolean');
    if (unk && tokens[0] !== UNK) throw new RuntimeUserError(`a stored vocabulary with "unk" must start with ${UNK}`);
    if (new Set(tokens).size !== tokens.length) throw new RuntimeUserError('a stored vocabulary has duplicate tokens');
    return new Vocab(tokens, unk);
  }
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
