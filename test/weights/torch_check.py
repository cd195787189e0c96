"""PyTorch's side of test/weights/torch.test.ts (docs/weights.md).

Reads and writes safetensors files with the standard library only (the
header is 8 bytes of little-endian length, then JSON), builds a chain of
torch.nn layers from a JSON description, and runs it.

  torch_check.py forward SPEC.json WEIGHTS.safetensors INPUTS.json
      prints, as JSON, the chain's output for each input (one example each)
  torch_check.py write SPEC.json OUT.safetensors SEED
      writes the freshly initialised weights of the chain (torch's own
      initialisers, seeded) under torch's names, prefixed by the layer names

A layer of SPEC is {"kind": "embedding" | "lstm" | "gru" | "rnn" |
"linear", "name", "input", "units", "bidir"?, "act"?, "last"?,
"activation"?}: `last` keeps the final step of a recurrent layer,
`activation` ("tanh") follows a linear layer.
"""
import json
import struct
import sys

import torch

torch.set_default_dtype(torch.float32)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", entry
        begin, end = entry["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32)
        out[name] = t.reshape(entry["shape"]).clone()
    return out, header.get("__metadata__", {})


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def build(spec):
    modules = []
    for layer in spec:
        kind = layer["kind"]
        if kind == "embedding":
            m = torch.nn.Embedding(layer["input"], layer["units"])
        elif kind == "linear":
            m = torch.nn.Linear(layer["input"], layer["units"])
        elif kind == "lstm":
            m = torch.nn.LSTM(layer["input"], layer["units"], batch_first=True, bidirectional=layer.get("bidir", False))
        elif kind == "gru":
            m = torch.nn.GRU(layer["input"], layer["units"], batch_first=True, bidirectional=layer.get("bidir", False))
        elif kind == "rnn":
            m = torch.nn.RNN(layer["input"], layer["units"], batch_first=True, nonlinearity=layer.get("act", "tanh"), bidirectional=layer.get("bidir", False))
        else:
            raise ValueError(kind)
        modules.append((layer, m))
    return modules


def run(modules, x):
    for layer, m in modules:
        if layer["kind"] in ("lstm", "gru", "rnn"):
            x, _ = m(x)
            if layer.get("last"):
                x = x[:, -1, :]
        else:
            x = m(x)
            if layer.get("activation") == "tanh":
                x = torch.tanh(x)
    return x


def main():
    mode, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    if mode == "write":
        torch.manual_seed(int(sys.argv[4]))
        modules = build(spec)
        tensors = {}
        for layer, m in modules:
            for k, v in m.state_dict().items():
                tensors[f"{layer['name']}.{k}"] = v
        write_safetensors(sys.argv[3], tensors)
        return
    tensors, _ = read_safetensors(sys.argv[3])
    modules = build(spec)
    for layer, m in modules:
        prefix = layer["name"] + "."
        own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        m.load_state_dict(own, strict=True)
    with open(sys.argv[4]) as f:
        inputs = json.load(f)
    outputs = []
    with torch.no_grad():
        for x in inputs:
            t = torch.tensor([x], dtype=torch.long) if isinstance(x[0], int) else torch.tensor([x], dtype=torch.float32)
            y = run(modules, t)[0]
            outputs.append(y.tolist() if y.dim() == 2 else [y.tolist()])
    print(json.dumps(outputs))


if __name__ == "__main__":
    main()
