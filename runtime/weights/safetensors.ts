// The safetensors format (PyTorch's and Hugging Face's): 8 bytes of header
// length N (unsigned 64-bit, little-endian), N bytes of JSON header, then the
// tensors' bytes. The header maps each tensor's name to {"dtype", "shape",
// "data_offsets": [begin, end]} (offsets into the bytes after the header) and
// may hold "__metadata__", a map of strings to strings. rnnc writes float32,
// little-endian, tensors packed in the Map's order without gaps, the header
// padded with spaces to a multiple of 8 bytes (as the reference writer does,
// so the data is aligned); it reads F32, F64 and F16/BF16 (widened), and
// checks what a reader must: the length, the JSON, each entry, offsets within
// the data, covering it without overlap.
import { RuntimeUserError } from '../io.js';
import { isPlainObject } from '../params-json.js';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface SafetensorsFile {
  /** Tensors in the order of their data offsets. */
  readonly tensors: Map<string, { shape: number[]; data: Float64Array }>;
  readonly metadata: Record<string, string>;
}

/** The header's size limit: the reference reader refuses headers over 100 MB. */
const MAX_HEADER = 100_000_000;

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = { ...metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new RuntimeUserError('a tensor cannot be named __metadata__ in a safetensors file');
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) throw new Error(`internal: tensor ${name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  json += ' '.repeat(padded - jsonBytes.length);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true);
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const bad = (what: string): never => {
    throw new RuntimeUserError(`${source}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) bad(`it has ${bytes.length} bytes, fewer than the 8 of the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) bad(`the header length ${n} is over ${MAX_HEADER} bytes (is it a safetensors file?)`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) bad(`the header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  let root: unknown;
  try {
    root = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    return bad(`the header is not JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(root)) return bad('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(root)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry) || Object.values(entry).some((v) => typeof v !== 'string')) bad('"__metadata__" must map names to strings');
      Object.assign(metadata, entry);
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isPlainObject(entry)) return bad(`${where} is not an object {"dtype", "shape", "data_offsets"}`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || BYTES[dtype] === undefined) {
      return bad(`${where} has dtype ${JSON.stringify(dtype)}; rnnc reads F32, F64, F16 and BF16`);
    }
    const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) return bad(`${where}: "shape" must be an array of whole numbers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return bad(`${where}: "data_offsets" must be [begin, end]`);
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLength) bad(`${where}: data_offsets [${begin}, ${end}] lie outside the ${dataLength} bytes of data`);
    if (end - begin !== size * BYTES[dtype]!) bad(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} [${(shape as number[]).join(', ')}] needs ${size * BYTES[dtype]!}`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin !== covered) bad(e.begin < covered ? `tensor "${e.name}" overlaps the tensor before it` : `bytes ${covered} to ${e.begin} of the data belong to no tensor`);
    covered = e.end;
  }
  if (covered !== dataLength) bad(`the last ${dataLength - covered} bytes of the data belong to no tensor`);
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const e of entries) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(size);
    const at = dataStart + e.begin;
    for (let i = 0; i < size; i++) data[i] = readValue(view, e.dtype, at + i * BYTES[e.dtype]!);
    tensors.set(e.name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

function readValue(view: DataView, dtype: string, at: number): number {
  switch (dtype) {
    case 'F32':
      return view.getFloat32(at, true);
    case 'F64':
      return view.getFloat64(at, true);
    case 'BF16': {
      // bfloat16 is the high half of a float32.
      const scratch = new DataView(new ArrayBuffer(4));
      scratch.setUint16(0, view.getUint16(at, true));
      return scratch.getFloat32(0);
    }
    default:
      return half(view.getUint16(at, true));
  }
}

/** An IEEE 754 half-precision value from its 16 bits. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
