// rnnc export --to safetensors and rnnc import of .safetensors files: rnnc's
// own names bit for bit for any model; PyTorch's names (--names torch) for
// LSTM, GRU (reset-after: gru_ra), RNN, Embedding and Linear layers, bit
// for bit too, and refused for rnnc's reset-before gru; files that do not
// fit the model are clear errors. Where /usr/bin/python3 has torch,
// test/weights/torch_check.py builds torch.nn.LSTM / GRU / RNN from the
// exported file and computes what rnnc predict computes (within 1e-5), and
// weights torch initialised itself, imported into rnnc, give the float64
// reference evaluator torch's outputs.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseParamsJson } from '../../runtime/params-json.js';
import { decodeSafetensors, encodeSafetensors } from '../../runtime/weights/safetensors.js';
import { expectOk, expectUserError, removeDir, rnnc, writeFile } from '../e2e/cli-harness.js';
import { commonModels, referenceLoss, samples, trainBlock, trainModels } from './fixture.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'torch_check.py');
const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const hasTorch = torchProbe.status === 0;

const MODELS = `${commonModels('gru_ra')}
model bi_rnn {
  input x: seq<[3]>
  target y: seq<[2]>
  b = bidir rnn(x) with H = 3, act = relu
  loss = mse(tanh(dense(b, 2)), y)
}
model gru_before {
  input x: seq<[3]>
  target y: seq<[2]>
  h = gru(x) with H = 4
  loss = mse(dense(h, 2), y)
}
${trainBlock('bi_rnn', 'seq', 3)}
${trainBlock('gru_before', 'seq', 4)}
`;

/** The same chains as torch.nn layers, for torch_check.py. */
const SPECS: Record<string, object[]> = {
  lstm_seq: [
    { kind: 'lstm', name: 'h', input: 3, units: 4 },
    { kind: 'linear', name: 'loss.dense', input: 4, units: 2 },
  ],
  gru_last: [
    { kind: 'embedding', name: 'e', input: 5, units: 3 },
    { kind: 'gru', name: 'h', input: 3, units: 5, last: true },
    { kind: 'linear', name: 'loss.dense', input: 5, units: 2 },
  ],
  bi_rnn: [
    { kind: 'rnn', name: 'b', input: 3, units: 3, act: 'relu', bidir: true },
    { kind: 'linear', name: 'loss.dense', input: 6, units: 2, activation: 'tanh' },
  ],
};

const { rand, vectors, tokens } = samples(11);
const inputsFor = (model: string): (number[] | number[][])[] => (model === 'gru_last' ? [tokens(4), tokens(1), tokens(6)] : [vectors(5), vectors(1), vectors(7)]);

let dir: string;
let file: string;
const ckpt = (model: string): string => join(dir, model, 'checkpoint.json');

beforeAll(async () => {
  ({ dir, file } = await trainModels('rnnc-safetensors-', { rand, vectors, tokens }, MODELS, ['lstm_seq', 'gru_last', 'bi_rnn', 'gru_before']));
});
afterAll(() => removeDir(dir));

async function paramsOf(model: string): Promise<ReturnType<typeof parseParamsJson>> {
  const out = join(dir, `${model}-orig.json`);
  expectOk(await rnnc('params', ckpt(model), '-o', out));
  return parseParamsJson(readFileSync(out, 'utf8'), out);
}

function expectSameParams(a: ReturnType<typeof parseParamsJson>, b: ReturnType<typeof parseParamsJson>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) {
    expect(b.get(k)!.shape, k).toEqual(v.shape);
    expect(Array.from(b.get(k)!.data), k).toEqual(Array.from(v.data));
  }
}

describe.each(['lstm_seq', 'gru_last', 'bi_rnn', 'gru_before'])('rnnc export --to safetensors, rnnc names: %s', (model) => {
  it('writes every parameter under its name with the model and dims as metadata, and imports back bit for bit', async () => {
    const st = join(dir, `${model}.safetensors`);
    expectOk(await rnnc('export', file, '--model', model, '--ckpt', ckpt(model), '--to', 'safetensors', '-o', st));
    const decoded = decodeSafetensors(readFileSync(st), st);
    const orig = await paramsOf(model);
    expect([...decoded.tensors.keys()]).toEqual([...orig.keys()]);
    expect(decoded.metadata['rnnc.model']).toBe(model);
    expect(decoded.metadata['rnnc.names']).toBe('rnnc');
    expect(JSON.parse(decoded.metadata['rnnc.dims']!)).toEqual((JSON.parse(readFileSync(ckpt(model), 'utf8')) as { extra: { dims: object } }).extra.dims);
    expect(JSON.parse(decoded.metadata['rnnc.vocabs']!)).toEqual((JSON.parse(readFileSync(ckpt(model), 'utf8')) as { extra: { vocabs: object } }).extra.vocabs);
    const back = join(dir, `${model}-back.json`);
    expectOk(await rnnc('import', file, '--from', st, '-o', back));
    expectSameParams(orig, parseParamsJson(readFileSync(back, 'utf8'), back));
  });
});

describe.each(['lstm_seq', 'gru_last', 'bi_rnn'])('rnnc export --to safetensors --names torch: %s', (model) => {
  it("writes torch's names and shapes, and imports back bit for bit", async () => {
    const st = join(dir, `${model}-torch.safetensors`);
    expectOk(await rnnc('export', file, '--model', model, '--ckpt', ckpt(model), '--to', 'safetensors', '--names', 'torch', '-o', st));
    const decoded = decodeSafetensors(readFileSync(st), st);
    expect(decoded.metadata['format']).toBe('pt');
    const names = [...decoded.tensors.keys()];
    const spec = SPECS[model] as { kind: string; name: string; bidir?: boolean }[];
    const want = spec.flatMap((l) =>
      l.kind === 'embedding' ? [`${l.name}.weight`] : l.kind === 'linear' ? [`${l.name}.weight`, `${l.name}.bias`] : (l.bidir ? ['', '_reverse'] : ['']).flatMap((s) => ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((w) => `${l.name}.${w}${s}`)),
    );
    expect(names).toEqual(want);
    const back = join(dir, `${model}-torch-back.json`);
    // The metadata says torch: no --names needed to read it back.
    expectOk(await rnnc('import', file, '--from', st, '-o', back));
    expectSameParams(await paramsOf(model), parseParamsJson(readFileSync(back, 'utf8'), back));
  });
});

describe('torch names: the gate order and the biases', () => {
  it("stacks LSTM gates i, f, g, o and GRU gates r, z, n; bias_hh is zero but for the GRU's candidate (b_hn)", async () => {
    const lstm = decodeSafetensors(readFileSync(join(dir, 'lstm_seq-torch.safetensors')), 'l');
    const p = await paramsOf('lstm_seq');
    const ih = Array.from(lstm.tensors.get('h.weight_ih_l0')!.data);
    const f32 = (xs: Float64Array): number[] => Array.from(xs, (x) => Math.fround(x));
    expect(ih.slice(0, 12)).toEqual(f32(p.get('h.W_i')!.data));
    expect(ih.slice(12, 24)).toEqual(f32(p.get('h.W_f')!.data));
    expect(ih.slice(24, 36)).toEqual(f32(p.get('h.W_g')!.data));
    expect(ih.slice(36, 48)).toEqual(f32(p.get('h.W_o')!.data));
    expect(Array.from(lstm.tensors.get('h.bias_hh_l0')!.data).every((x) => x === 0)).toBe(true);
    const gru = decodeSafetensors(readFileSync(join(dir, 'gru_last-torch.safetensors')), 'g');
    const q = await paramsOf('gru_last');
    const hh = Array.from(gru.tensors.get('h.weight_hh_l0')!.data);
    expect(hh.slice(0, 25)).toEqual(f32(q.get('h.U_r')!.data));
    expect(hh.slice(25, 50)).toEqual(f32(q.get('h.U_z')!.data));
    const bhh = Array.from(gru.tensors.get('h.bias_hh_l0')!.data);
    expect(bhh.slice(0, 10).every((x) => x === 0)).toBe(true);
    expect(bhh.slice(10)).toEqual(f32(q.get('h.b_hn')!.data));
  });
});

describe('what does not fit', () => {
  it("refuses rnnc's reset-before gru under torch names", async () => {
    const r = await rnnc('export', file, '--model', 'gru_before', '--ckpt', ckpt('gru_before'), '--to', 'safetensors', '--names', 'torch', '-o', join(dir, 'gb.safetensors'));
    expectUserError(r);
    const line = MODELS.split('\n').findIndex((l) => l.includes('h = gru(x) with H = 4')) + 1;
    expect(r.stderr).toContain(`models.rnn:${line}:7: the layer \`h\` is rnnc's \`gru\`, which resets before the product; torch.nn.GRU resets after it`);
  });

  it('names a missing, an extra and a mis-shaped tensor', async () => {
    const st = join(dir, 'lstm_seq.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(st), st);
    const edit = (f: (m: Map<string, { shape: number[]; data: Float64Array }>) => void, name: string): string => {
      const m = new Map(tensors);
      f(m);
      const path = join(dir, name);
      writeFileSync(path, encodeSafetensors(m, metadata));
      return path;
    };
    const cases: [string, string][] = [
      [edit((m) => m.delete('h.W_f'), 'missing.safetensors'), 'missing the tensor "h.W_f" [4, 3]'],
      [edit((m) => m.set('h.peephole', { shape: [4], data: new Float64Array(4) }), 'extra.safetensors'), 'tensor "h.peephole" belongs to no parameter of the model'],
      [edit((m) => m.set('h.W_f', { shape: [3, 4], data: new Float64Array(12) }), 'shape.safetensors'), 'tensor "h.W_f" has shape [3, 4]; the model needs [4, 3]'],
    ];
    for (const [path, message] of cases) {
      const r = await rnnc('import', file, '--from', path, '-o', join(dir, 'never.json'));
      expectUserError(r);
      expect(r.stderr).toContain(message);
    }
    const notSt = writeFile(dir, 'plain.safetensors', 'hello, world');
    const r = await rnnc('import', file, '--from', notSt, '-o', join(dir, 'never.json'));
    expectUserError(r);
    expect(r.stderr).toContain('not a valid safetensors file');
    const u = await rnnc('import', file, '--from', join(dir, 'weights.pt'), '-o', join(dir, 'never.json'));
    expectUserError(u, 2);
  });
});

describe.skipIf(!hasTorch)(`PyTorch (${hasTorch ? `${PYTHON} has torch` : `skipped: ${PYTHON} cannot import torch`})`, () => {
  const python = (...args: string[]): string => {
    const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`torch_check.py ${args.join(' ')} failed:\n${r.stderr}`);
    return r.stdout;
  };

  async function rnncPredict(model: string, inputs: unknown[]): Promise<number[][][]> {
    const input = writeFile(dir, `${model}-in.jsonl`, `${inputs.map((x) => JSON.stringify({ x })).join('\n')}\n`);
    const r = await rnnc('predict', file, '--model', model, '--ckpt', ckpt(model), '--input', input, '--json', '--backend', 'cpu');
    expectOk(r);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const v = (JSON.parse(l) as { values: number[] | number[][] }).values;
        return (Array.isArray(v[0]) ? v : [v]) as number[][];
      });
  }

  it.each(['lstm_seq', 'gru_last', 'bi_rnn'])('torch.nn layers loaded from the export compute what rnnc predict computes: %s', async (model) => {
    const spec = writeFile(dir, `${model}-spec.json`, JSON.stringify(SPECS[model]));
    const xs = inputsFor(model);
    const inputs = writeFile(dir, `${model}-inputs.json`, JSON.stringify(xs));
    const got = JSON.parse(python('forward', spec, join(dir, `${model}-torch.safetensors`), inputs)) as number[][][];
    const want = await rnncPredict(model, xs);
    expect(got.length).toBe(want.length);
    got.forEach((rows, i) => {
      expect(rows.length).toBe(want[i]!.length);
      rows.forEach((row, t) => row.forEach((v, k) => expect(Math.abs(v - want[i]![t]![k]!)).toBeLessThan(1e-5)));
    });
  });

  it.each(['lstm_seq', 'gru_last', 'bi_rnn'])("weights torch initialised, imported with --names torch, give rnnc torch's outputs: %s", async (model) => {
    const spec = writeFile(dir, `${model}-spec.json`, JSON.stringify(SPECS[model]));
    const st = join(dir, `${model}-from-torch.safetensors`);
    python('write', spec, st, '5');
    const params = join(dir, `${model}-from-torch.json`);
    expectOk(await rnnc('import', file, '--model', model, '--from', st, '--names', 'torch', '-o', params));
    const xs = inputsFor(model).slice(0, 1);
    const inputs = writeFile(dir, `${model}-inputs1.json`, JSON.stringify(xs));
    const y = (JSON.parse(python('forward', spec, st, inputs)) as number[][][])[0]!;
    const x = xs[0]!;
    const T = x.length;
    const xTensor = model === 'gru_last' ? { shape: [1, T], data: x } : { shape: [1, T, 3], data: (x as number[][]).flat() };
    const perStep = model !== 'gru_last';
    // The float64 reference evaluator with the imported parameters: its MSE against torch's outputs is ~0, against other values not.
    const loss = (target: number[][]): Promise<number> =>
      referenceLoss(dir, file, model, params, { x: xTensor, y: perStep ? { shape: [1, T, 2], data: target.flat() } : { shape: [1, 2], data: target[0]! } });
    expect(await loss(y)).toBeLessThan(1e-11);
    expect(await loss(y.map((row) => row.map((v) => v + 0.01)))).toBeGreaterThan(5e-5);
  });
});

describe('output files and flags', () => {
  it('replaces its own export, refuses a file of yours without --force, and takes --names torch only with safetensors', async () => {
    const mine = writeFile(dir, 'notes.safetensors', 'my notes\n');
    const args = ['export', file, '--model', 'lstm_seq', '--ckpt', ckpt('lstm_seq'), '--to', 'safetensors', '-o'];
    const r = await rnnc(...args, mine);
    expectUserError(r);
    expect(r.stderr).toContain('refusing to overwrite');
    expect(readFileSync(mine, 'utf8')).toBe('my notes\n');
    expectOk(await rnnc(...args, mine, '--force'));
    expectOk(await rnnc(...args, mine));
    expect(decodeSafetensors(readFileSync(mine), mine).tensors.size).toBe(14);
    const usage = await rnnc('export', file, '--model', 'lstm_seq', '--ckpt', ckpt('lstm_seq'), '--to', 'tfjs-layers', '--names', 'torch', '-o', join(dir, 'u'));
    expectUserError(usage, 2);
    expect(usage.stderr).toContain('--names torch goes with --to safetensors');
    expectUserError(await rnnc('export', file, '--ckpt', ckpt('lstm_seq'), '--to', 'onnx', '-o', join(dir, 'u')), 2);
    const layersOnFile = await rnnc('export', file, '--model', 'lstm_seq', '--ckpt', ckpt('lstm_seq'), '--to', 'tfjs-layers', '-o', mine);
    expectUserError(layersOnFile);
    expect(layersOnFile.stderr).toContain('is a file: --to tfjs-layers writes a folder');
  });
});
