// rnnc export --to tfjs-layers, loaded by tfjs-layers itself
// (tf.loadLayersModel): the Layers model computes what `rnnc predict`
// computes from the same checkpoint, for an LSTM, a GRU over an embedding
// read at its last step, a bidirectional LSTM, a ReLU rnn over one_hot and
// nested layers;
// `rnnc import` reads the export back to the checkpoint's very parameters,
// and a model.json built by tfjs-layers itself (its own names) too. Models
// that have no Layers equivalent, and files that do not fit the model, are
// clear errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// tfjs-layers calls tensor methods (`x.flatten()`) that tfjs-core's Node bundle does not install; the benchmark's tf.layers column has the same need.
import { installChainedOps } from '../../bench/chained-ops.js';
import { parseParamsJson } from '../../runtime/params-json.js';
import { expectOk, expectUserError, removeDir, rnnc, writeFile } from '../e2e/cli-harness.js';
import { commonModels, referenceLoss, samples, trainBlock, trainModels } from './fixture.js';

let dir: string;

const MODELS = `${commonModels('gru')}
model bi_seq {
  input x: seq<[3]>
  target y: seq<[2]>
  b = bidir lstm(x) with H = 3
  d = dropout(b, 0.1)
  loss = mse(tanh(dense(d, 2)), y)
}
model relu_onehot {
  dim V
  input x: seq<token[V]>
  target y: [2]
  h = rnn(one_hot(x)) with H = 4, act = relu
  s = rnn(h) with H = 3
  loss = mse(dense(last(s), 2), y)
}
model nested {
  dim V
  input x: seq<token[V]>
  target y: [2]
  h = lstm(lstm(embed(x, 3))) with H = 4
  loss = mse(relu(dense(last(h), 2)), y)
}
model keras_gru {
  input x: seq<[3]>
  target y: seq<[2]>
  h = gru_ra(x) with H = 4
  loss = mse(dense(h, 2), y)
}
${trainBlock('bi_seq', 'seq', 3)}
${trainBlock('nested', 'tok', 5)}
${trainBlock('relu_onehot', 'tok', 4)}
`;

const { rand, vectors, tokens } = samples(7);

let file: string;

beforeAll(async () => {
  installChainedOps();
  ({ dir, file } = await trainModels('rnnc-weights-', { rand, vectors, tokens }, MODELS, ['lstm_seq', 'gru_last', 'bi_seq', 'relu_onehot', 'nested']));
});
afterAll(() => removeDir(dir));

/** A model.json and its weights loaded by tfjs-layers, from memory. */
async function loadExported(folder: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const bin = readFileSync(join(folder, json.weightsManifest[0]!.paths[0]!));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData }));
}

/** rnnc predict --json on inputs: per input, its values (per step, or one row). */
async function rnncPredict(model: string, inputs: unknown[]): Promise<number[][][]> {
  const input = writeFile(dir, `${model}-in.jsonl`, `${inputs.map((x) => JSON.stringify({ x })).join('\n')}\n`);
  const r = await rnnc('predict', file, '--model', model, '--ckpt', join(dir, model, 'checkpoint.json'), '--input', input, '--json', '--backend', 'cpu');
  expectOk(r);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const v = (JSON.parse(l) as { values: number[] | number[][] }).values;
      return (Array.isArray(v[0]) ? v : [v]) as number[][];
    });
}

function layersPredict(m: tfl.LayersModel, x: number[] | number[][]): number[][] {
  return tf.tidy(() => {
    const input = Array.isArray(x[0]) ? tf.tensor3d([x as number[][]]) : tf.tensor2d([x as number[]]);
    const y = m.predict(input) as tf.Tensor;
    const rows = y.arraySync() as number[][] | number[][][];
    return (y.rank === 3 ? rows[0] : rows) as number[][];
  });
}

function expectClose(a: number[][], b: number[][], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i]!.length);
    row.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(tol));
  });
}

describe.each([
  { model: 'lstm_seq', inputs: () => [vectors(5), vectors(1), vectors(8)], classes: ['LSTM', 'Dense'] },
  { model: 'gru_last', inputs: () => [tokens(4), tokens(1), tokens(7)], classes: ['Embedding', 'GRU', 'Dense'] },
  { model: 'bi_seq', inputs: () => [vectors(4), vectors(6)], classes: ['Bidirectional', 'Dropout', 'Dense'] },
  { model: 'relu_onehot', inputs: () => [tokens(3), tokens(6)], classes: ['Embedding', 'SimpleRNN', 'SimpleRNN', 'Dense'] },
  // Nested layers are named `h.lstm`, `h.embed` and `loss.dense` (docs/language.md, "Parameter names").
  { model: 'nested', inputs: () => [tokens(5), tokens(2)], classes: ['Embedding', 'LSTM', 'LSTM', 'Dense'] },
])('rnnc export --to tfjs-layers: $model', ({ model, inputs, classes }) => {
  let out: string;
  beforeAll(async () => {
    out = join(dir, `${model}-layers`);
    expectOk(await rnnc('export', file, '--model', model, '--ckpt', join(dir, model, 'checkpoint.json'), '--to', 'tfjs-layers', '-o', out));
  });

  it('loads in tf.loadLayersModel and computes what rnnc predict computes', async () => {
    // rnnc first: the harness counts tfjs variables left alive, and the Layers model holds some.
    const xs = inputs();
    const want = await rnncPredict(model, xs);
    const m = await loadExported(out);
    try {
      expect(m.layers.map((l) => l.getClassName())).toEqual(classes);
      xs.forEach((x, i) => expectClose(layersPredict(m, x), want[i]!, 2e-5));
    } finally {
      m.dispose();
    }
  });

  it('imports back to the checkpoint parameters, bit for bit; model.json carries the vocabularies', async () => {
    const saved = JSON.parse(readFileSync(join(dir, model, 'checkpoint.json'), 'utf8')) as { extra: { vocabs: unknown } };
    const meta = (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { userDefinedMetadata: { rnnc: { vocabs: unknown } } }).userDefinedMetadata.rnnc;
    expect(meta.vocabs).toEqual(saved.extra.vocabs);
    const back = join(dir, `${model}-back.json`);
    expectOk(await rnnc('import', file, '--model', model, '--from', join(out, 'model.json'), '-o', back));
    const orig = join(dir, `${model}-orig.json`);
    expectOk(await rnnc('params', join(dir, model, 'checkpoint.json'), '-o', orig));
    const a = parseParamsJson(readFileSync(orig, 'utf8'), orig);
    const b = parseParamsJson(readFileSync(back, 'utf8'), back);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) {
      expect(b.get(k)!.shape).toEqual(v.shape);
      expect(Array.from(b.get(k)!.data)).toEqual(Array.from(v.data));
    }
  });
});

describe('rnnc import of a model tfjs-layers saved itself', () => {
  it('reads its weights (tfjs names, its own layer names) into the parameters that compute the same outputs', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.lstm({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid', inputShape: [null, 3] }));
    m.add(tfl.layers.dense({ units: 2 }));
    const folder = join(dir, 'tfl-own');
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        const json = { format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }] };
        writeFile(folder, 'model.json', JSON.stringify(json));
        writeFileSync(join(folder, 'group1-shard1of1.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const kernel = m.layers[0]!.getWeights()[0]!.arraySync() as number[][];
    const x = vectors(5);
    const y = layersPredict(m, x);
    m.dispose();
    const params = join(dir, 'tfl-own.json');
    expectOk(await rnnc('import', file, '--model', 'lstm_seq', '--from', join(folder, 'model.json'), '-o', params));
    const p = parseParamsJson(readFileSync(params, 'utf8'), params);
    // The kernel's columns i, f, c, o are rnnc's W_i, W_f, W_g, W_o, transposed.
    expect(p.get('h.W_g')!.data[1 * 3 + 2]).toBe(kernel[2]![2 * 4 + 1]);
    expect(p.get('h.W_o')!.data[3 * 3 + 0]).toBe(kernel[0]![3 * 4 + 3]);
    // The float64 reference evaluator with the imported parameters: its MSE against the Layers model's own outputs is ~0, against other values not.
    const loss = (target: number[][]): Promise<number> => referenceLoss(dir, file, 'lstm_seq', params, { x: { shape: [1, 5, 3], data: x.flat() }, y: { shape: [1, 5, 2], data: target.flat() } });
    expect(await loss(y)).toBeLessThan(1e-12);
    expect(await loss(y.map((row) => row.map((v) => v + 0.01)))).toBeGreaterThan(5e-5);
  });
});

describe('rnnc import of a bidirectional model tfjs-layers saved itself', () => {
  it('reads Bidirectional(LSTM) and a Dense followed by an Activation layer into bidir lstm and tanh(dense(...))', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.bidirectional({ layer: tfl.layers.lstm({ units: 3, returnSequences: true, recurrentActivation: 'sigmoid' }) as tfl.RNN, mergeMode: 'concat', inputShape: [null, 3] }));
    m.add(tfl.layers.dropout({ rate: 0.1 }));
    m.add(tfl.layers.dense({ units: 2 }));
    m.add(tfl.layers.activation({ activation: 'tanh' }));
    const x = vectors(4);
    const y = layersPredict(m, x);
    const folder = join(dir, 'tfl-bidir');
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        writeFile(folder, 'model.json', JSON.stringify({ format: a.format, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }));
        writeFileSync(join(folder, 'w.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    m.dispose();
    const params = join(dir, 'tfl-bidir.json');
    expectOk(await rnnc('import', file, '--model', 'bi_seq', '--from', join(folder, 'model.json'), '-o', params));
    const loss = (target: number[][]): Promise<number> => referenceLoss(dir, file, 'bi_seq', params, { x: { shape: [1, 4, 3], data: x.flat() }, y: { shape: [1, 4, 2], data: target.flat() } });
    expect(await loss(y)).toBeLessThan(1e-12);
    expect(await loss(y.map((row) => row.map((v) => v - 0.01)))).toBeGreaterThan(5e-5);
  });
});

describe('rnnc import of a Keras GRU with reset_after=True (as the tensorflowjs converter writes it)', () => {
  /** Keras' equations for GRU(reset_after=True) and Dense, in float64: gates z, r, h; bias [2, 3H], input row then recurrent row. */
  function kerasForward(x: number[][], k: number[][], rk: number[][], bias: number[][], dk: number[][], db: number[]): number[][] {
    const H = rk.length;
    const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
    let h = new Array<number>(H).fill(0);
    return x.map((xt) => {
      const xw = (c: number): number => xt.reduce((s, v, i) => s + v * k[i]![c]!, 0) + bias[0]![c]!;
      const hu = (c: number): number => h.reduce((s, v, i) => s + v * rk[i]![c]!, 0) + bias[1]![c]!;
      const next = h.map((hp, j) => {
        const z = sigmoid(xw(j) + hu(j));
        const r = sigmoid(xw(H + j) + hu(H + j));
        const cand = Math.tanh(xw(2 * H + j) + r * hu(2 * H + j));
        return z * hp + (1 - z) * cand;
      });
      h = next;
      return db.map((b, c) => b + h.reduce((s, v, i) => s + v * dk[i]![c]!, 0));
    });
  }

  it('reads the [2, 3H] bias into b_z, b_r, b_n and b_hn: the reference evaluator then computes what Keras does', async () => {
    const H = 4;
    const mat = (rows: number, cols: number): number[][] => Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround(rand() - 0.5)));
    const k = mat(3, 3 * H);
    const rk = mat(H, 3 * H);
    const bias = mat(2, 3 * H);
    const dk = mat(H, 2);
    const db = mat(1, 2)[0]!;
    const weights = [
      ['gru/gru_cell/kernel', k],
      ['gru/gru_cell/recurrent_kernel', rk],
      ['gru/gru_cell/bias', bias],
      ['time_distributed/kernel', dk],
      ['time_distributed/bias', [db]],
    ] as const;
    const gruConfig = { name: 'gru', units: H, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, return_sequences: true, reset_after: true };
    const json = {
      format: 'layers-model',
      generatedBy: 'keras v2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        keras_version: '2.15.0',
        backend: 'tensorflow',
        model_config: {
          class_name: 'Sequential',
          config: {
            name: 'sequential',
            layers: [
              { class_name: 'InputLayer', config: { batch_input_shape: [null, null, 3], dtype: 'float32', name: 'input_1' } },
              { class_name: 'GRU', config: gruConfig },
              { class_name: 'TimeDistributed', config: { name: 'time_distributed', layer: { class_name: 'Dense', config: { name: 'dense', units: 2, activation: 'linear', use_bias: true } } } },
            ],
          },
        },
      },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: weights.map(([name, v]) => ({ name, shape: name.endsWith('/bias') && name.startsWith('time') ? [2] : [v.length, v[0]!.length], dtype: 'float32' })) }],
    };
    const folder = join(dir, 'keras-gru');
    writeFile(folder, 'model.json', JSON.stringify(json));
    writeFileSync(join(folder, 'group1-shard1of1.bin'), new Uint8Array(Float32Array.from(weights.flatMap(([, v]) => v.flat())).buffer));
    const params = join(dir, 'keras-gru.json');
    expectOk(await rnnc('import', file, '--model', 'keras_gru', '--from', join(folder, 'model.json'), '-o', params));
    const p = parseParamsJson(readFileSync(params, 'utf8'), params);
    // The candidate's recurrent bias stays inside the reset (b_hn); the gates' two biases add up.
    expect(Array.from(p.get('h.b_hn')!.data)).toEqual(bias[1]!.slice(2 * H));
    expect(Array.from(p.get('h.b_n')!.data)).toEqual(bias[0]!.slice(2 * H));
    expect(p.get('h.b_z')!.data[1]).toBe(bias[0]![1]! + bias[1]![1]!);
    const x = vectors(6);
    const y = kerasForward(x, k, rk, bias, dk, db);
    const loss = (target: number[][]): Promise<number> => referenceLoss(dir, file, 'keras_gru', params, { x: { shape: [1, 6, 3], data: x.flat() }, y: { shape: [1, 6, 2], data: target.flat() } });
    // Not 0: b_z and b_r, sums of two float32 values, are rounded to float32 as parameters.
    expect(await loss(y)).toBeLessThan(1e-12);
    expect(await loss(y.map((row) => row.map((v) => v + 0.01)))).toBeGreaterThan(5e-5);
    // A reset_after GRU is rnnc's gru_ra, not gru: the import says so.
    const before = structuredClone(json);
    (before.modelTopology.model_config.config.layers[1]!.config as { reset_after: boolean }).reset_after = false;
    writeFile(folder, 'before.json', JSON.stringify(before));
    const r = await rnnc('import', file, '--model', 'keras_gru', '--from', join(folder, 'before.json'), '-o', join(dir, 'never.json'));
    expectUserError(r);
    expect(r.stderr).toContain("layer \"gru\" is a GRU with reset_after=false, which is rnnc's `gru`, where the model has `gru_ra`");
  });
});

describe('models and files that do not fit', () => {
  const bad = `
cell mine(x: [X]) -> h: [H] {
  param W: [H, X]
  param u: [H] = ones
  h[t] = tanh(W @ x[t] + u * h[t-1])
}
model own { input x: seq<[3]>; target y: seq<[2]>; h = mine(x) with H = 4; loss = mse(dense(h, 2), y) }
model rev { input x: seq<[3]>; target y: seq<[2]>; h = lstm(reverse x) with H = 4; loss = mse(dense(h, 2), y) }
model cat { input x: seq<[3]>; target y: seq<[2]>; a = lstm(x) with H = 4; b = gru(x) with H = 4; loss = mse(dense(concat(a, b), 2), y) }
model ra { input x: seq<[3]>; target y: seq<[2]>; h = gru_ra(x) with H = 4; loss = mse(dense(h, 2), y) }
train own { data jsonl("seq.jsonl"); optimizer adam(lr = 0.05); batch 8; epochs 1 }
train rev { data jsonl("seq.jsonl"); optimizer adam(lr = 0.05); batch 8; epochs 1 }
train cat { data jsonl("seq.jsonl"); optimizer adam(lr = 0.05); batch 8; epochs 1 }
train ra { data jsonl("seq.jsonl"); optimizer adam(lr = 0.05); batch 8; epochs 1 }
`;
  it.each([
    ['own', 'models-bad.rnn:7:', 'the cell `mine` (a cell of your own)'],
    ['rev', 'models-bad.rnn:8:', 'a cell run backwards (`reverse`)'],
    ['cat', 'models-bad.rnn:9:', '`concat(...)`'],
    ['ra', 'models-bad.rnn:10:', "tfjs-layers' GRU has no reset_after"],
  ])('refuses %s, naming the statement', async (model, where, what) => {
    const f = writeFile(dir, 'models-bad.rnn', bad);
    expectOk(await rnnc('run', f, '--model', model, '--backend', 'cpu', '--steps', '1', '--out', join(dir, `bad-${model}`), '--quiet'));
    const r = await rnnc('export', f, '--model', model, '--ckpt', join(dir, `bad-${model}`, 'checkpoint.json'), '--to', 'tfjs-layers', '-o', join(dir, `bad-${model}-out`));
    expectUserError(r);
    expect(r.stderr).toContain(where);
    expect(r.stderr).toContain(what);
    expect(r.stderr).toContain('no TensorFlow.js Layers equivalent');
  });

  it('names the weight whose shape does not fit, and a layer of another class', async () => {
    const out = join(dir, 'lstm_seq-layers');
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[]; modelTopology: { config: { layers: { class_name: string }[] } } };
    const misshaped = structuredClone(json);
    misshaped.weightsManifest[0]!.weights[0]!.shape = [4, 12];
    writeFile(out, 'misshaped.json', JSON.stringify(misshaped));
    const r = await rnnc('import', file, '--model', 'lstm_seq', '--from', join(out, 'misshaped.json'), '-o', join(dir, 'x.json'));
    expectUserError(r);
    expect(r.stderr).toContain('weight "h/kernel" has shape [4, 12], but the layer of `h` needs [3, 16]');
    const gru = structuredClone(json);
    gru.modelTopology.config.layers[0]!.class_name = 'GRU';
    writeFile(out, 'gru.json', JSON.stringify(gru));
    const g = await rnnc('import', file, '--model', 'lstm_seq', '--from', join(out, 'gru.json'), '-o', join(dir, 'x.json'));
    expectUserError(g);
    expect(g.stderr).toContain('layer "h" is a GRU, where the model has lstm `h` (a LSTM)');
  });
});
