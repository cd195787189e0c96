import { describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/rng.js';
import { addingProblem, DATE_FORMATS, datesTask, inScale, MELODY_TOKENS, melodies, sineWaves, symbolTask } from '../../runtime/data/synthetic.js';

describe('adding problem', () => {
  const d = addingProblem(new Rng(1), { T: 50, n: 10000, valid: 1000 });

  it('marks exactly two steps, one in each half, and targets their sum', () => {
    expect(d.task).toBe('regression');
    expect(d.train).toHaveLength(10000);
    expect(d.valid).toHaveLength(1000);
    for (const e of [...d.train, ...d.valid]) {
      const x = e.inputs[0]!;
      const y = e.targets[0]!;
      if (x.kind !== 'vectors' || y.kind !== 'vector') throw new Error('unexpected kinds');
      expect(x.steps).toBe(50);
      const marked: number[] = [];
      for (let t = 0; t < 50; t++) {
        const v = x.data[t * 2]!;
        if (!(v >= 0 && v < 1)) throw new Error(`value ${v} outside [0, 1)`);
        const m = x.data[t * 2 + 1]!;
        if (m !== 0 && m !== 1) throw new Error(`marker ${m}`);
        if (m === 1) marked.push(t);
      }
      expect(marked).toHaveLength(2);
      expect(marked[0]!).toBeLessThan(25);
      expect(marked[1]!).toBeGreaterThanOrEqual(25);
      expect(y.data[0]).toBe(Math.fround(x.data[marked[0]! * 2]! + x.data[marked[1]! * 2]!));
    }
  });

  it('predicting 1 scores MSE about 1/6', () => {
    let se = 0;
    for (const e of d.train) se += ((e.targets[0] as { data: Float32Array }).data[0]! - 1) ** 2;
    // The estimate's standard error over 10k samples is about 0.002 (seed 1 gives 0.1713).
    expect(Math.abs(se / d.train.length - 1 / 6)).toBeLessThan(0.01);
  });

  it('is a function of the seed, and the validation set ignores n', () => {
    const a = addingProblem(new Rng(7), { T: 10, n: 5, valid: 3 });
    const b = addingProblem(new Rng(7), { T: 10, n: 5, valid: 3 });
    const c = addingProblem(new Rng(8), { T: 10, n: 5, valid: 3 });
    const big = addingProblem(new Rng(7), { T: 10, n: 50, valid: 3 });
    expect(a).toEqual(b);
    expect(a.train).not.toEqual(c.train);
    expect(big.valid).toEqual(a.valid);
    expect(() => addingProblem(new Rng(1), { T: 1 })).toThrow(/T must be/);
  });
});

describe('sine waves', () => {
  it('targets are the inputs shifted by one step', () => {
    const d = sineWaves(new Rng(3), { T: 20, n: 10, valid: 2 });
    expect(d.inputs[0]!.type).toEqual({ kind: 'vectors', dims: [1] });
    expect(d.targets[0]!.type).toEqual({ kind: 'vectors', dims: [1] });
    for (const e of d.train) {
      const x = e.inputs[0] as { data: Float32Array; steps: number };
      const y = e.targets[0] as { data: Float32Array; steps: number };
      expect(x.steps).toBe(20);
      expect(Array.from(y.data.subarray(0, 19))).toEqual(Array.from(x.data.subarray(1)));
      for (const v of x.data) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    }
    expect(d.valid).toHaveLength(2);
  });

  it('adds noise from the seed', () => {
    const clean = sineWaves(new Rng(3), { T: 20, n: 4, valid: 1 });
    const noisy = sineWaves(new Rng(3), { T: 20, n: 4, valid: 1, noise: 0.1 });
    expect(noisy).toEqual(sineWaves(new Rng(3), { T: 20, n: 4, valid: 1, noise: 0.1 }));
    expect(noisy.train).not.toEqual(clean.train);
    expect(() => sineWaves(new Rng(3), { noise: -1 })).toThrow(/noise/);
  });
});

describe('symbol tasks (reversal, sorting)', () => {
  it('gives each source its reversed or sorted symbols, ids 1..symbols, lengths in range, reproducibly', () => {
    for (const task of ['reverse', 'sort'] as const) {
      const d = symbolTask(new Rng(5), task, { symbols: 4, minLen: 2, maxLen: 6, n: 200, valid: 20 });
      expect(d.name).toBe(task === 'reverse' ? 'reversal' : 'sorting');
      expect(d.inputs[0]!.type).toEqual({ kind: 'tokens', vocab: 5 });
      expect(d.inputs[0]!.vocab!.tokens).toEqual(['<s>', '0', '1', '2', '3']);
      const lengths = new Set<number>();
      for (const ex of [...d.train, ...d.valid]) {
        const src = (ex.inputs[0] as { ids: Int32Array }).ids;
        const tgt = (ex.targets[0] as { ids: Int32Array }).ids;
        lengths.add(src.length);
        expect(src.every((id) => id >= 1 && id <= 4)).toBe(true);
        const want = task === 'reverse' ? [...src].reverse() : [...src].sort((a, b) => a - b);
        expect([...tgt]).toEqual(want);
      }
      expect([...lengths].sort()).toEqual([2, 3, 4, 5, 6]);
      const again = symbolTask(new Rng(5), task, { symbols: 4, minLen: 2, maxLen: 6, n: 200, valid: 20 });
      expect(again.train[7]).toEqual(d.train[7]);
    }
  });

  it('says what is wrong with its arguments', () => {
    expect(() => symbolTask(new Rng(1), 'sort', { minLen: 5, maxLen: 3 })).toThrow('max_len (3) must be at least min_len (5)');
    expect(() => symbolTask(new Rng(1), 'sort', { symbols: 1 })).toThrow('symbols must be an integer of at least 2, not 1');
  });
});

describe('dates', () => {
  it('writes each date one of the ways, with its ISO form and </s> as the target, reproducibly', () => {
    const d = datesTask(new Rng(4), { n: 400, valid: 10 });
    const src = d.inputs[0]!.vocab!;
    const tgt = d.targets[0]!.vocab!;
    expect(tgt.tokens).toEqual(['<s>', '</s>', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const lengths = new Set<number>();
    const starts = new Set<string>();
    for (const ex of d.train) {
      const text = [...(ex.inputs[0] as { ids: Int32Array }).ids].map((i) => src.token(i)).join('');
      const ids = [...(ex.targets[0] as { ids: Int32Array }).ids];
      expect(ids.at(-1)).toBe(1);
      const iso = ids.slice(0, -1).map((i) => tgt.token(i)).join('');
      expect(iso).toMatch(/^(19[5-9]\d|20[0-4]\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
      const [y, m, day] = iso.split('-').map(Number) as [number, number, number];
      expect(new Date(Date.UTC(y, m - 1, day)).getUTCDate()).toBe(day);
      // The source says the same date: its day and the year's last two digits appear in it.
      expect(text).toContain(String(y % 100).padStart(2, '0'));
      expect(text.includes(String(day))).toBe(true);
      lengths.add(text.length);
      starts.add(text.slice(0, 3));
    }
    expect(lengths.size).toBeGreaterThan(10);
    expect(starts.size).toBeGreaterThan(20);
    expect(datesTask(new Rng(4), { n: 400, valid: 10 }).train[9]).toEqual(d.train[9]);
  });

  it('formats a known date every way', () => {
    expect(DATE_FORMATS.map((f) => f(1998, 3, 3, 2))).toEqual([
      'the 3rd of march 1998',
      '03/03/98',
      'march 3, 1998',
      '3 mar 1998',
      'tuesday, march 3, 1998',
      '3.3.1998',
      'mar 3 98',
      '1998-03-03',
    ]);
  });
});

describe('melodies', () => {
  it('walks over one scale: every note of a melody lies in its key, the continuation ends with </s>', () => {
    const d = melodies(new Rng(2), { n: 200, valid: 5, prime: 4, length: 12 });
    expect(d.inputs[0]!.vocab!.tokens).toEqual(MELODY_TOKENS);
    expect(MELODY_TOKENS).toHaveLength(26);
    for (const ex of d.train) {
      const prime = [...(ex.inputs[0] as { ids: Int32Array }).ids];
      const rest = [...(ex.targets[0] as { ids: Int32Array }).ids];
      expect(prime).toHaveLength(4);
      expect(rest).toHaveLength(13);
      expect(rest.at(-1)).toBe(1);
      const notes = [...prime, ...rest.slice(0, -1)];
      expect(notes.every((id) => id >= 2 && id < 26)).toBe(true);
      let keys = 0;
      for (let k = 0; k < 12; k++) for (const minor of [false, true]) if (notes.every((id) => inScale(id, k, minor))) keys++;
      expect(keys).toBeGreaterThan(0);
    }
  });
});
