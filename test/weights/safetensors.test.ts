// The safetensors format (runtime/weights/safetensors.ts): the header as the
// format defines it (8-byte little-endian length, JSON with dtype, shape and
// data_offsets, __metadata__), data aligned to 8 bytes, float32 values bit
// for bit through a write and a read, other dtypes widened, and every kind
// of broken file a clear error.
import { describe, expect, it } from 'vitest';
import { RuntimeUserError } from '../../runtime/io.js';
import { decodeSafetensors, encodeSafetensors } from '../../runtime/weights/safetensors.js';

/** A file made by hand: header object, then raw data bytes. */
function handMade(header: object, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (values: number[]): Uint8Array => {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setFloat32(i * 4, x, true));
  return b;
};

describe('encodeSafetensors', () => {
  const tensors = new Map([
    ['enc.W_g', { shape: [2, 3], data: [0.1, -2.5, 3e-8, 1, 0, -0] }],
    ['enc.b', { shape: [3], data: [Math.fround(1 / 3), 7, -1e30] }],
    ['scalar', { shape: [], data: [42] }],
  ]);
  const bytes = encodeSafetensors(tensors, { 'rnnc.model': 'm', 'rnnc.dims': '{"H":3}' });
  const view = new DataView(bytes.buffer);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

  it('writes the 8-byte little-endian header length, a JSON header padded to 8 bytes, then packed float32 data', () => {
    expect(n % 8).toBe(0);
    expect((8 + n) % 8).toBe(0);
    expect(Object.keys(header)).toEqual(['__metadata__', 'enc.W_g', 'enc.b', 'scalar']);
    expect(header['__metadata__']).toEqual({ 'rnnc.model': 'm', 'rnnc.dims': '{"H":3}' });
    expect(header['enc.W_g']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header['enc.b']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [24, 36] });
    expect(header['scalar']).toEqual({ dtype: 'F32', shape: [], data_offsets: [36, 40] });
    expect(bytes.length).toBe(8 + n + 40);
    // Little-endian float32 at the offsets.
    expect(view.getFloat32(8 + n + 4, true)).toBe(Math.fround(-2.5));
    expect(view.getFloat32(8 + n + 24 + 8, true)).toBe(Math.fround(-1e30));
  });

  it('reads back bit for bit, metadata included', () => {
    const back = decodeSafetensors(bytes, 'x.safetensors');
    expect(back.metadata).toEqual({ 'rnnc.model': 'm', 'rnnc.dims': '{"H":3}' });
    expect([...back.tensors.keys()]).toEqual(['enc.W_g', 'enc.b', 'scalar']);
    for (const [k, t] of tensors) {
      expect(back.tensors.get(k)!.shape).toEqual(t.shape);
      const got = Array.from(back.tensors.get(k)!.data);
      const want = t.data.map((x) => Math.fround(x));
      got.forEach((g, i) => expect(Object.is(g, want[i])).toBe(true));
    }
  });
});

describe('decodeSafetensors', () => {
  it('reads tensors in any key order, by their offsets, and F64, F16 and BF16 widened', () => {
    const f64 = new Uint8Array(8);
    new DataView(f64.buffer).setFloat64(0, 0.1, true);
    // F16 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24; BF16 0x3f80 = 1, 0xc0a0 = -5.
    const halfs = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]);
    const bf = new Uint8Array([0x80, 0x3f, 0xa0, 0xc0]);
    const data = new Uint8Array([...f32([1.5, 2.5]), ...f64, ...halfs, ...bf]);
    const file = handMade(
      {
        b: { dtype: 'F64', shape: [1], data_offsets: [8, 16] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        h: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
        g: { dtype: 'BF16', shape: [2], data_offsets: [22, 26] },
      },
      data,
      3,
    );
    const r = decodeSafetensors(file, 'f');
    expect([...r.tensors.keys()]).toEqual(['a', 'b', 'h', 'g']);
    expect(Array.from(r.tensors.get('a')!.data)).toEqual([1.5, 2.5]);
    expect(r.tensors.get('b')!.data[0]).toBe(0.1);
    expect(Array.from(r.tensors.get('h')!.data)).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(r.tensors.get('g')!.data)).toEqual([1, -5]);
    expect(r.metadata).toEqual({});
  });

  const cases: [string, Uint8Array, string][] = [
    ['too short', new Uint8Array(5), 'fewer than the 8 of the header length'],
    ['a header past the end', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 100n, true); return b; })(), 'runs past the end of the file'],
    ['a header that is not JSON', (() => { const b = handMade({}, new Uint8Array()); b[8] = 0x5b; return b; })(), 'the header is not JSON'],
    ['an unknown dtype', handMade({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'dtype "I64"'],
    ['offsets outside the data', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), 'lie outside the 4 bytes of data'],
    ['offsets that do not fit the shape', handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), 'hold 8 bytes, but F32 [3] needs 12'],
    ['overlapping tensors', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), 'tensor "b" overlaps the tensor before it'],
    ['a gap', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), 'bytes 0 to 4 of the data belong to no tensor'],
    ['trailing bytes', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), 'the last 4 bytes of the data belong to no tensor'],
    ['bad metadata', handMade({ __metadata__: { a: 1 } }, new Uint8Array()), '"__metadata__" must map names to strings'],
    ['a bad shape', handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array()), '"shape" must be an array of whole numbers'],
  ];
  it.each(cases)('refuses %s with a clear error naming the file', (_, bytes, message) => {
    let err: unknown;
    try {
      decodeSafetensors(bytes, 'w.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeUserError);
    expect((err as Error).message).toContain('w.safetensors: not a valid safetensors file: ');
    expect((err as Error).message).toContain(message);
  });
});
