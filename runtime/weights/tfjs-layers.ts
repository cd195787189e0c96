// A layer plan (layer-plan.ts) as a TensorFlow.js Layers model, and back:
// `model.json` (a Sequential topology in Keras' JSON with a weights
// manifest) plus the float32 little-endian bytes of `weights.bin`, written
// without tfjs-layers itself. Keras' layouts (docs/weights.md):
//   - kernels are [in, units * gates] (x @ kernel), rnnc's products [H, X]
//     per gate (W @ x): kernel[x, g * H + j] = W_g[j, x];
//   - LSTM gates i, f, c, o (rnnc W_i, W_f, W_g, W_o); GRU gates z, r, h
//     (W_z, W_r, W_n); one bias per gate as rnnc's;
//   - recurrent_activation sigmoid (tfjs-layers' default is hard_sigmoid,
//     another function);
//   - GRU reset_after=false is rnnc's `gru`; reset_after=true (Keras'
//     default, bias [2, 3H]: input and recurrent biases) is `gru_ra`, read
//     on import only, since tfjs-layers cannot run it;
//   - one_hot is an Embedding whose table is the identity (not trainable).
// Import reads any Layers model.json whose layers pair with the plan in
// order (Keras' and tfjs' weight names alike), checking classes, settings,
// names and shapes.
import { RuntimeUserError } from '../io.js';
import { isPlainObject } from '../params-json.js';
import { directions, type LayerPlan, type PlanLayer } from './layer-plan.js';

export interface ParamTensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

type Params = ReadonlyMap<string, ParamTensor>;

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

const GATES: Readonly<Record<'rnn' | 'lstm' | 'gru' | 'gru_ra', readonly string[]>> = {
  rnn: [''],
  lstm: ['i', 'f', 'g', 'o'],
  gru: ['z', 'r', 'n'],
  gru_ra: ['z', 'r', 'n'],
};

/** rnnc's names of a gate's input product, recurrent product and bias. */
function gateParams(cell: keyof typeof GATES, gate: string): { input: string; recurrent: string; bias: string } {
  if (cell === 'rnn') return { input: 'U', recurrent: 'W', bias: 'b' };
  if (cell === 'lstm') return { input: `W_${gate}`, recurrent: `W_${gate}h`, bias: `b_${gate}` };
  return { input: `W_${gate}`, recurrent: `U_${gate}`, bias: `b_${gate}` };
}

/** [rows, cols] matrices per gate, transposed and set side by side: [cols, gates * rows]. */
function kernelOf(mats: readonly ParamTensor[]): Float32Array {
  const [rows, cols] = mats[0]!.shape as [number, number];
  const width = rows * mats.length;
  const out = new Float32Array(cols * width);
  mats.forEach((m, g) => {
    for (let j = 0; j < rows; j++) for (let x = 0; x < cols; x++) out[x * width + g * rows + j] = m.data[j * cols + x]!;
  });
  return out;
}

/** The inverse of kernelOf: gate `g`'s [rows, cols] matrix. */
function gateOfKernel(kernel: ArrayLike<number>, cols: number, rows: number, gates: number, g: number): Float64Array {
  const width = rows * gates;
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < rows; j++) for (let x = 0; x < cols; x++) out[j * cols + x] = kernel[x * width + g * rows + j]!;
  return out;
}

const layerName = (rnncName: string): string => rnncName.replace(/[^A-Za-z0-9_]/g, '_');

export interface LayersExport {
  readonly modelJson: Record<string, unknown>;
  readonly weights: Uint8Array;
}

/** model.json (naming `weightsFile` in its manifest) and the bytes of that file. */
export function exportLayers(plan: LayerPlan, params: Params, o: { weightsFile: string; dims: Readonly<Record<string, number>>; generatedBy: string; vocabs?: unknown }): LayersExport {
  const specs: WeightSpec[] = [];
  const chunks: Float32Array[] = [];
  const add = (name: string, shape: number[], data: Float32Array): void => {
    specs.push({ name, shape, dtype: 'float32' });
    chunks.push(data);
  };
  const get = (name: string): ParamTensor => {
    const p = params.get(name);
    if (!p) throw new Error(`internal: no parameter ${name}`);
    return p;
  };
  const layers: Record<string, unknown>[] = [];
  const names = new Set<string>();
  const unique = (base: string): string => {
    let n = base;
    for (let k = 2; names.has(n); k++) n = `${base}_${k}`;
    names.add(n);
    return n;
  };
  const inputShape = plan.input.kind === 'tokens' ? [null, null] : [null, null, plan.input.size];
  for (const layer of plan.layers) {
    const first = layers.length === 0 ? { batch_input_shape: inputShape, dtype: 'float32' } : {};
    switch (layer.kind) {
      case 'embedding': {
        const name = unique(layerName(layer.name));
        const table = layer.oneHot ? identity(layer.vocab) : Float32Array.from(get(`${layer.name}.table`).data);
        layers.push({ class_name: 'Embedding', config: { name, input_dim: layer.vocab, output_dim: layer.size, mask_zero: false, trainable: !layer.oneHot, ...first } });
        add(`${name}/embeddings`, [layer.vocab, layer.size], table);
        break;
      }
      case 'dense': {
        const name = unique(layerName(layer.name));
        layers.push({ class_name: 'Dense', config: { name, units: layer.units, activation: layer.activation, use_bias: true, trainable: true, ...first } });
        add(`${name}/kernel`, [layer.input, layer.units], kernelOf([get(`${layer.name}.W`)]));
        add(`${name}/bias`, [layer.units], Float32Array.from(get(`${layer.name}.b`).data));
        break;
      }
      case 'recurrent': {
        const cls = layer.cell === 'rnn' ? 'SimpleRNN' : layer.cell === 'lstm' ? 'LSTM' : 'GRU';
        const name = unique(layerName(layer.name));
        const inner = layer.bidir ? `${name}_cell` : name;
        const config: Record<string, unknown> = {
          name: inner,
          units: layer.units,
          activation: layer.act,
          use_bias: true,
          return_sequences: layer.returnSequences,
          return_state: false,
          go_backwards: false,
          stateful: false,
          unroll: false,
          trainable: true,
        };
        if (layer.cell !== 'rnn') config['recurrent_activation'] = 'sigmoid';
        if (layer.cell === 'lstm') config['unit_forget_bias'] = false;
        if (layer.cell === 'gru') config['reset_after'] = false;
        if (layer.bidir) {
          layers.push({ class_name: 'Bidirectional', config: { name, merge_mode: 'concat', layer: { class_name: cls, config }, trainable: true, ...first } });
        } else {
          layers.push({ class_name: cls, config: { ...config, ...first } });
        }
        const weightPrefixes = layer.bidir ? [`${name}/forward_${inner}`, `${name}/backward_${inner}`] : [name];
        directions(layer).forEach((prefix, k) => {
          const gates = GATES[layer.cell].map((g) => gateParams(layer.cell, g));
          const width = layer.units * gates.length;
          add(`${weightPrefixes[k]}/kernel`, [layer.input, width], kernelOf(gates.map((g) => get(`${prefix}.${g.input}`))));
          add(`${weightPrefixes[k]}/recurrent_kernel`, [layer.units, width], kernelOf(gates.map((g) => get(`${prefix}.${g.recurrent}`))));
          const bias = new Float32Array(width);
          gates.forEach((g, i) => bias.set(Float32Array.from(get(`${prefix}.${g.bias}`).data), i * layer.units));
          add(`${weightPrefixes[k]}/bias`, [width], bias);
        });
        break;
      }
      case 'dropout':
        layers.push({ class_name: 'Dropout', config: { name: unique('dropout'), rate: layer.rate, trainable: true, ...first } });
        break;
      case 'activation':
        layers.push({ class_name: 'Activation', config: { name: unique('activation'), activation: layer.activation, trainable: true, ...first } });
        break;
    }
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const weights = new Uint8Array(total * 4);
  const view = new DataView(weights.buffer);
  let at = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++, at += 4) view.setFloat32(at, c[i]!, true);
  const modelJson = {
    format: 'layers-model',
    generatedBy: o.generatedBy,
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: layerName(plan.model), layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: [o.weightsFile], weights: specs }],
    // The vocabularies (token names by id, per input and target) say how to encode inputs and name outputs.
    userDefinedMetadata: { rnnc: { model: plan.model, dims: { ...o.dims }, ...(o.vocabs !== undefined ? { vocabs: o.vocabs } : {}) } },
  };
  return { modelJson, weights };
}

function identity(n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** The rnnc model name and dims a model.json written by rnnc records (userDefinedMetadata.rnnc). */
export function layersMetadata(json: unknown): { model?: string; dims?: Record<string, number> } {
  const meta = isPlainObject(json) && isPlainObject(json['userDefinedMetadata']) ? json['userDefinedMetadata']['rnnc'] : undefined;
  if (!isPlainObject(meta)) return {};
  return {
    ...(typeof meta['model'] === 'string' ? { model: meta['model'] } : {}),
    ...(isPlainObject(meta['dims']) ? { dims: meta['dims'] as Record<string, number> } : {}),
  };
}

interface TopologyLayer {
  readonly cls: string;
  readonly name: string;
  readonly config: Record<string, unknown>;
}

/**
 * rnnc parameters from a Layers model.json (`json`) whose manifest's files
 * `readFile` returns; `source` names model.json in messages.
 */
export function importLayers(plan: LayerPlan, json: unknown, readFile: (path: string) => Uint8Array, source: string): Map<string, { shape: number[]; data: Float64Array }> {
  const bad = (what: string): never => {
    throw new RuntimeUserError(`${source}: ${what}`);
  };
  if (!isPlainObject(json)) return bad('not a TensorFlow.js Layers model.json (not a JSON object)');
  if (json['format'] === 'graph-model') return bad('a TensorFlow.js graph model (converted from a SavedModel) has no layers to read: rnnc reads Layers models (format "layers-model")');
  const topology = json['modelTopology'];
  if (!isPlainObject(topology)) return bad('no "modelTopology": not a TensorFlow.js Layers model.json (a graph model from tf.saved_model conversion has no layers to read)');
  const modelConfig = isPlainObject(topology['model_config']) ? topology['model_config'] : topology;
  const config = modelConfig['config'];
  const rawLayers = Array.isArray(config) ? config : isPlainObject(config) && Array.isArray(config['layers']) ? config['layers'] : bad('"modelTopology" has no list of layers');
  const layers: TopologyLayer[] = [];
  for (const l of rawLayers as unknown[]) {
    if (!isPlainObject(l) || typeof l['class_name'] !== 'string' || !isPlainObject(l['config'])) return bad('a layer of "modelTopology" is not {"class_name", "config"}');
    const c = l['config'];
    layers.push({ cls: l['class_name'], name: typeof c['name'] === 'string' ? c['name'] : typeof l['name'] === 'string' ? l['name'] : '', config: c });
  }
  const weights = readManifest(json, readFile, bad);
  const claimed = new Set<string>();
  const weightsOf = (layer: TopologyLayer): Map<string, { shape: number[]; data: Float32Array }> => {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [n, w] of weights) {
      if (n.startsWith(`${layer.name}/`)) {
        out.set(n, w);
        claimed.add(n);
      }
    }
    return out;
  };
  const pick = (ws: Map<string, { shape: number[]; data: Float32Array }>, layer: TopologyLayer, kind: string, direction?: 'forward' | 'backward'): { name: string; shape: number[]; data: Float32Array } => {
    const found = [...ws].filter(([n]) => {
      const parts = n.replace(/:\d+$/, '').split('/');
      return parts.at(-1) === kind && (direction === undefined || parts.some((p) => p.startsWith(`${direction}_`)));
    });
    if (found.length !== 1) bad(`layer "${layer.name}" (${layer.cls}) has ${found.length === 0 ? 'no' : found.length} ${direction ? `${direction} ` : ''}weight${found.length > 1 ? 's' : ''} named .../${kind}${found.length > 1 ? `: ${found.map(([n]) => n).join(', ')}` : ''}`);
    return { name: found[0]![0], ...found[0]![1] };
  };
  const checkShape = (w: { name: string; shape: number[] }, want: number[], layer: PlanLayer): void => {
    if (w.shape.join(',') !== want.join(',')) bad(`weight "${w.name}" has shape [${w.shape.join(', ')}], but the layer of \`${'name' in layer ? layer.name : layer.kind}\` needs [${want.join(', ')}]`);
  };

  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  const weighted = layers.filter((l) => !['InputLayer', 'Dropout', 'Activation', 'Masking', 'SpatialDropout1D', 'GaussianNoise'].includes(l.cls));
  let next = 0;
  const describe = (p: PlanLayer): string => (p.kind === 'recurrent' ? `${p.bidir ? 'bidir ' : ''}${p.cell} \`${p.name}\`` : p.kind === 'embedding' ? (p.oneHot ? 'one_hot' : `embed \`${p.name}\``) : p.kind === 'dense' ? `dense \`${p.name}\`` : p.kind);
  for (const p of plan.layers) {
    if (p.kind === 'dropout' || p.kind === 'activation') continue;
    if (p.kind === 'embedding' && p.oneHot) {
      // An exported one_hot is an identity Embedding; a model without it is fine too.
      if (weighted[next]?.cls === 'Embedding') weightsOf(weighted[next++]!);
      continue;
    }
    const l = weighted[next++];
    if (!l) return bad(`it has no layer for ${describe(p)} (its layers with weights: ${weighted.map((w) => `${w.name} (${w.cls})`).join(', ') || 'none'})`);
    const expectClass = (classes: string[]): void => {
      if (!classes.includes(l.cls)) bad(`layer "${l.name}" is a ${l.cls}, where the model has ${describe(p)} (a ${classes.join(' or ')})`);
    };
    const ws = weightsOf(l);
    if (p.kind === 'embedding') {
      expectClass(['Embedding']);
      const e = pick(ws, l, 'embeddings');
      checkShape(e, [p.vocab, p.size], p);
      out.set(`${p.name}.table`, { shape: [p.vocab, p.size], data: Float64Array.from(e.data) });
    } else if (p.kind === 'dense') {
      let c = l.config;
      if (l.cls === 'TimeDistributed') {
        const innerLayer = c['layer'];
        if (!isPlainObject(innerLayer) || innerLayer['class_name'] !== 'Dense' || !isPlainObject(innerLayer['config'])) bad(`layer "${l.name}" is a TimeDistributed of something other than Dense`);
        c = (innerLayer as { config: Record<string, unknown> }).config;
      } else expectClass(['Dense', 'TimeDistributed']);
      if (c['use_bias'] === false) bad(`layer "${l.name}" has no bias (use_bias false); rnnc's dense has one`);
      const act = c['activation'] ?? 'linear';
      // Keras may apply the function as a layer of its own right after the Dense.
      const after = layers[layers.indexOf(l) + 1];
      const separate = act === 'linear' && after?.cls === 'Activation' && after.config['activation'] === p.activation;
      if (act !== p.activation && !separate) bad(`layer "${l.name}" has activation ${JSON.stringify(act)}, the model's dense \`${p.name}\` ${p.activation}`);
      const k = pick(ws, l, 'kernel');
      const b = pick(ws, l, 'bias');
      checkShape(k, [p.input, p.units], p);
      checkShape(b, [p.units], p);
      out.set(`${p.name}.W`, { shape: [p.units, p.input], data: gateOfKernel(k.data, p.input, p.units, 1, 0) });
      out.set(`${p.name}.b`, { shape: [p.units], data: Float64Array.from(b.data) });
    } else {
      const cls = p.cell === 'rnn' ? 'SimpleRNN' : p.cell === 'lstm' ? 'LSTM' : 'GRU';
      let c = l.config;
      if (p.bidir) {
        expectClass(['Bidirectional']);
        const innerLayer = c['layer'];
        if (!isPlainObject(innerLayer) || !isPlainObject(innerLayer['config'])) return bad(`layer "${l.name}" (Bidirectional) has no inner layer`);
        if (innerLayer['class_name'] !== cls) bad(`layer "${l.name}" is a Bidirectional ${String(innerLayer['class_name'])}, where the model has ${describe(p)}`);
        if ((c['merge_mode'] ?? 'concat') !== 'concat') bad(`layer "${l.name}" merges its directions by ${JSON.stringify(c['merge_mode'])}; rnnc's bidir concatenates them`);
        c = innerLayer['config'] as Record<string, unknown>;
      } else expectClass([cls]);
      checkRecurrentConfig(l.name, c, p, bad);
      const gates = GATES[p.cell].map((g) => gateParams(p.cell, g));
      const n = gates.length;
      const H = p.units;
      directions(p).forEach((prefix, k) => {
        const dir = p.bidir ? (k === 0 ? 'forward' : 'backward') : undefined;
        const kernel = pick(ws, l, 'kernel', dir);
        const rec = pick(ws, l, 'recurrent_kernel', dir);
        const bias = pick(ws, l, 'bias', dir);
        checkShape(kernel, [p.input, n * H], p);
        checkShape(rec, [H, n * H], p);
        const resetAfter = p.cell === 'gru_ra';
        checkShape(bias, resetAfter ? [2, n * H] : [n * H], p);
        gates.forEach((g, i) => {
          out.set(`${prefix}.${g.input}`, { shape: [H, p.input], data: gateOfKernel(kernel.data, p.input, H, n, i) });
          out.set(`${prefix}.${g.recurrent}`, { shape: [H, H], data: gateOfKernel(rec.data, H, H, n, i) });
          const b = new Float64Array(H);
          // Reset-after: row 0 is the input bias, row 1 the recurrent one; rnnc sums them, except the candidate's recurrent bias (b_hn).
          for (let j = 0; j < H; j++) b[j] = bias.data[i * H + j]! + (resetAfter && g.bias !== 'b_n' ? bias.data[n * H + i * H + j]! : 0);
          out.set(`${prefix}.${g.bias}`, { shape: [H], data: b });
        });
        if (resetAfter) out.set(`${prefix}.b_hn`, { shape: [H], data: Float64Array.from(bias.data.subarray(n * H + 2 * H, n * H + 3 * H)) });
      });
    }
  }
  if (next < weighted.length) bad(`it has layers the model does not: ${weighted.slice(next).map((w) => `${w.name} (${w.cls})`).join(', ')}`);
  const extra = [...weights.keys()].filter((n) => !claimed.has(n));
  if (extra.length > 0) bad(`weights that belong to no layer of the model: ${extra.join(', ')}`);
  return out;
}

function checkRecurrentConfig(name: string, c: Record<string, unknown>, p: PlanLayer & { kind: 'recurrent' }, bad: (what: string) => never): void {
  const act = c['activation'] ?? 'tanh';
  if (act !== p.act) bad(`layer "${name}" has activation ${JSON.stringify(act)}, the model's ${p.cell} \`${p.name}\` ${p.act}`);
  if (p.cell !== 'rnn') {
    const rec = c['recurrent_activation'] ?? 'sigmoid';
    if (rec !== 'sigmoid') bad(`layer "${name}" has recurrent_activation ${JSON.stringify(rec)}; rnnc's gates are sigmoid (tfjs-layers' default hard_sigmoid is another function: weights trained with it do not carry over)`);
  }
  if (c['use_bias'] === false) bad(`layer "${name}" has no biases (use_bias false); rnnc's cells have them`);
  if (c['units'] !== undefined && c['units'] !== p.units) bad(`layer "${name}" has ${String(c['units'])} units, the model's ${p.cell} \`${p.name}\` ${p.units}`);
  if (c['go_backwards'] === true) bad(`layer "${name}" runs backwards (go_backwards); export and import take forward layers and bidir`);
  if (p.cell === 'gru' || p.cell === 'gru_ra') {
    const ra = c['reset_after'] === true;
    if (ra !== (p.cell === 'gru_ra')) bad(`layer "${name}" is a GRU with reset_after=${ra ? 'true' : 'false'}, which is rnnc's \`${ra ? 'gru_ra' : 'gru'}\`, where the model has \`${p.cell}\``);
  }
}

function readManifest(json: Record<string, unknown>, readFile: (path: string) => Uint8Array, bad: (what: string) => never): Map<string, { shape: number[]; data: Float32Array }> {
  const manifest = json['weightsManifest'];
  if (!Array.isArray(manifest)) return bad('no "weightsManifest"');
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of manifest as unknown[]) {
    if (!isPlainObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) return bad('an entry of "weightsManifest" is not {"paths", "weights"}');
    const parts = (group['paths'] as unknown[]).map((p) => (typeof p === 'string' ? readFile(p) : bad('"paths" of "weightsManifest" must be file names')));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const bytes = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    const view = new DataView(bytes.buffer);
    let at = 0;
    for (const w of group['weights'] as unknown[]) {
      if (!isPlainObject(w) || typeof w['name'] !== 'string' || !Array.isArray(w['shape'])) return bad('a weight of "weightsManifest" is not {"name", "shape", "dtype"}');
      const name = w['name'];
      if ((w['dtype'] ?? 'float32') !== 'float32' || w['quantization'] !== undefined) bad(`weight "${name}" is ${w['quantization'] !== undefined ? 'quantized' : String(w['dtype'])}; rnnc reads float32 weights`);
      const shape = w['shape'] as number[];
      if (!shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`weight "${name}" has a shape that is not whole numbers`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (at + 4 * size > total) bad(`the weight files hold ${total} bytes, too few for weight "${name}" (float32 [${shape.join(', ')}] from byte ${at})`);
      const data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(at + 4 * i, true);
      at += 4 * size;
      if (out.has(name)) bad(`weight "${name}" appears twice`);
      out.set(name, { shape, data });
    }
    if (at !== total) bad(`the weight files hold ${total} bytes, but the manifest's weights take ${at}`);
  }
  return out;
}
