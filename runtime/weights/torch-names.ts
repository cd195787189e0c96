// rnnc's parameters under PyTorch's names, and back (docs/weights.md has the
// table). Each layer keeps rnnc's prefix (`fw`, `loss.dense`), so a torch
// module whose submodules carry those names loads the tensors with
// load_state_dict:
//   - embed: `<p>.weight` = table [V, E] (nn.Embedding); one_hot has none;
//   - dense: `<p>.weight` = W [K, N], `<p>.bias` = b (nn.Linear);
//   - rnn, lstm, gru_ra: nn.RNN / nn.LSTM / nn.GRU with one layer:
//     `<p>.weight_ih_l0` [gates * H, X], `<p>.weight_hh_l0` [gates * H, H],
//     `<p>.bias_ih_l0`, `<p>.bias_hh_l0`, the gates stacked in torch's order
//     (LSTM i, f, g, o; GRU r, z, n); `bidir`'s backward run adds the
//     suffix `_reverse` under the same prefix (bidirectional=True).
// torch has two biases where rnnc has one per gate: export writes rnnc's as
// bias_ih and zeros as bias_hh, import adds them. torch's GRU resets after
// the product, its bias_hh's candidate part being rnnc's b_hn, so it is
// `gru_ra`; rnnc's `gru` (reset before) has no torch equivalent.
import { RuntimeUserError } from '../io.js';
import { at, directions, type LayerPlan, type PlanLayer } from './layer-plan.js';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

const TORCH_GATES: Readonly<Record<'rnn' | 'lstm' | 'gru_ra', readonly string[]>> = {
  rnn: [''],
  lstm: ['i', 'f', 'g', 'o'],
  gru_ra: ['r', 'z', 'n'],
};

function gateNames(cell: 'rnn' | 'lstm' | 'gru_ra', gate: string): { input: string; recurrent: string; bias: string } {
  if (cell === 'rnn') return { input: 'U', recurrent: 'W', bias: 'b' };
  if (cell === 'lstm') return { input: `W_${gate}`, recurrent: `W_${gate}h`, bias: `b_${gate}` };
  return { input: `W_${gate}`, recurrent: `U_${gate}`, bias: `b_${gate}` };
}

/** torch's name and shape for every tensor of a layer, with how it is made from rnnc's parameters. */
interface TorchTensor {
  readonly name: string;
  readonly shape: number[];
}

function torchCell(layer: PlanLayer & { kind: 'recurrent' }): 'rnn' | 'lstm' | 'gru_ra' {
  if (layer.cell === 'gru') {
    throw new RuntimeUserError(`${at(layer.span)}: the layer \`${layer.name}\` is rnnc's \`gru\`, which resets before the product; torch.nn.GRU resets after it (rnnc's \`gru_ra\`), so its weights would compute another function: train the model with gru_ra, or export with rnnc's own names`);
  }
  return layer.cell;
}

/** The torch tensors of a plan, in order. */
export function torchTensors(plan: LayerPlan): TorchTensor[] {
  const out: TorchTensor[] = [];
  for (const layer of plan.layers) {
    if (layer.kind === 'embedding' && !layer.oneHot) out.push({ name: `${layer.name}.weight`, shape: [layer.vocab, layer.size] });
    if (layer.kind === 'dense') out.push({ name: `${layer.name}.weight`, shape: [layer.units, layer.input] }, { name: `${layer.name}.bias`, shape: [layer.units] });
    if (layer.kind === 'recurrent') {
      const n = TORCH_GATES[torchCell(layer)].length * layer.units;
      for (const suffix of layer.bidir ? ['', '_reverse'] : ['']) {
        out.push(
          { name: `${layer.name}.weight_ih_l0${suffix}`, shape: [n, layer.input] },
          { name: `${layer.name}.weight_hh_l0${suffix}`, shape: [n, layer.units] },
          { name: `${layer.name}.bias_ih_l0${suffix}`, shape: [n] },
          { name: `${layer.name}.bias_hh_l0${suffix}`, shape: [n] },
        );
      }
    }
  }
  return out;
}

/** rnnc's parameters (by rnnc name) under torch's names. */
export function toTorch(plan: LayerPlan, params: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const get = (name: string): Tensor => {
    const p = params.get(name);
    if (!p) throw new Error(`internal: no parameter ${name}`);
    return p;
  };
  const out = new Map<string, Tensor>();
  for (const layer of plan.layers) {
    if (layer.kind === 'embedding' && !layer.oneHot) out.set(`${layer.name}.weight`, get(`${layer.name}.table`));
    if (layer.kind === 'dense') {
      out.set(`${layer.name}.weight`, get(`${layer.name}.W`));
      out.set(`${layer.name}.bias`, get(`${layer.name}.b`));
    }
    if (layer.kind === 'recurrent') {
      const cell = torchCell(layer);
      const gates = TORCH_GATES[cell].map((g) => gateNames(cell, g));
      const H = layer.units;
      directions(layer).forEach((prefix, k) => {
        const suffix = k === 0 ? '' : '_reverse';
        // rnnc's [H, X] matrices stacked row-wise are torch's [gates * H, X].
        const stack = (names: string[]): Float64Array => {
          const parts = names.map((n) => get(`${prefix}.${n}`).data);
          const data = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
          let at = 0;
          for (const p of parts) {
            data.set(Array.from(p), at);
            at += p.length;
          }
          return data;
        };
        out.set(`${layer.name}.weight_ih_l0${suffix}`, { shape: [gates.length * H, layer.input], data: stack(gates.map((g) => g.input)) });
        out.set(`${layer.name}.weight_hh_l0${suffix}`, { shape: [gates.length * H, H], data: stack(gates.map((g) => g.recurrent)) });
        out.set(`${layer.name}.bias_ih_l0${suffix}`, { shape: [gates.length * H], data: stack(gates.map((g) => g.bias)) });
        const hh = new Float64Array(gates.length * H);
        if (cell === 'gru_ra') hh.set(Array.from(get(`${prefix}.b_hn`).data), 2 * H);
        out.set(`${layer.name}.bias_hh_l0${suffix}`, { shape: [gates.length * H], data: hh });
      });
    }
  }
  return out;
}

/** rnnc's parameters from tensors under torch's names; `source` names the file in messages. */
export function fromTorch(plan: LayerPlan, tensors: ReadonlyMap<string, Tensor>, source: string): Map<string, { shape: number[]; data: Float64Array }> {
  const expected = torchTensors(plan);
  checkNames(expected, tensors, source, 'torch');
  const get = (name: string): ArrayLike<number> => tensors.get(name)!.data;
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const layer of plan.layers) {
    if (layer.kind === 'embedding' && !layer.oneHot) out.set(`${layer.name}.table`, { shape: [layer.vocab, layer.size], data: Float64Array.from(get(`${layer.name}.weight`)) });
    if (layer.kind === 'dense') {
      out.set(`${layer.name}.W`, { shape: [layer.units, layer.input], data: Float64Array.from(get(`${layer.name}.weight`)) });
      out.set(`${layer.name}.b`, { shape: [layer.units], data: Float64Array.from(get(`${layer.name}.bias`)) });
    }
    if (layer.kind === 'recurrent') {
      const cell = torchCell(layer);
      const gates = TORCH_GATES[cell].map((g) => gateNames(cell, g));
      const H = layer.units;
      const X = layer.input;
      directions(layer).forEach((prefix, k) => {
        const suffix = k === 0 ? '' : '_reverse';
        const ih = get(`${layer.name}.weight_ih_l0${suffix}`);
        const hh = get(`${layer.name}.weight_hh_l0${suffix}`);
        const bih = get(`${layer.name}.bias_ih_l0${suffix}`);
        const bhh = get(`${layer.name}.bias_hh_l0${suffix}`);
        const rows = (data: ArrayLike<number>, g: number, width: number): Float64Array => Float64Array.from(Array.prototype.slice.call(data, g * H * width, (g + 1) * H * width) as number[]);
        gates.forEach((g, i) => {
          out.set(`${prefix}.${g.input}`, { shape: [H, X], data: rows(ih, i, X) });
          out.set(`${prefix}.${g.recurrent}`, { shape: [H, H], data: rows(hh, i, H) });
          const b = new Float64Array(H);
          // torch's GRU adds the candidate's bias_hh inside the reset: that is b_hn, not part of b_n.
          const inside = cell === 'gru_ra' && g.bias === 'b_n';
          for (let j = 0; j < H; j++) b[j] = bih[i * H + j]! + (inside ? 0 : bhh[i * H + j]!);
          out.set(`${prefix}.${g.bias}`, { shape: [H], data: b });
        });
        if (cell === 'gru_ra') out.set(`${prefix}.b_hn`, { shape: [H], data: rows(bhh, 2, 1) });
      });
    }
  }
  return out;
}

/** Every expected tensor present with its shape, and nothing else; the message names the first problem of each kind. */
export function checkNames(expected: readonly TorchTensor[], tensors: ReadonlyMap<string, Tensor>, source: string, naming: 'torch' | 'rnnc'): void {
  const missing = expected.filter((e) => !tensors.has(e.name));
  const known = new Set(expected.map((e) => e.name));
  const extra = [...tensors.keys()].filter((n) => !known.has(n));
  const hint = naming === 'torch' ? ' (with --names torch, docs/weights.md)' : ' (rnnc names: see `rnnc summary`; PyTorch names need --names torch)';
  if (missing.length > 0) {
    throw new RuntimeUserError(`${source}: missing ${missing.length === 1 ? 'the tensor' : `${missing.length} tensors:`} ${missing.map((m) => `"${m.name}" [${m.shape.join(', ')}]`).join(', ')}${extra.length > 0 ? `; it has others the model does not: ${extra.map((n) => `"${n}"`).join(', ')}` : ''}${hint}`);
  }
  if (extra.length > 0) throw new RuntimeUserError(`${source}: tensor${extra.length === 1 ? '' : 's'} ${extra.map((n) => `"${n}"`).join(', ')} belong${extra.length === 1 ? 's' : ''} to no parameter of the model${hint}`);
  for (const e of expected) {
    const t = tensors.get(e.name)!;
    if (t.shape.join(',') !== e.shape.join(',')) throw new RuntimeUserError(`${source}: tensor "${e.name}" has shape [${t.shape.join(', ')}]; the model needs [${e.shape.join(', ')}]`);
  }
}
