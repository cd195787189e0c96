#!/usr/bin/env python3
"""PyTorch-CPU column of `npm run bench -- --seq2seq` (bench/seq2seq.ts runs it).

The benchmark's encoder-decoder, written as a PyTorch user writes a custom
one: rnnc's `gru` cell (Cho et al. 2014: the reset gate multiplies h[t-1]
before its product, so not torch.nn.GRU) unrolled over the source, then a
decoder that at each step embeds the previous target token, attends over the
encoder's outputs (additive attention: v . tanh(W_m m + W_q s)), updates
s = tanh(W e + U s + C c + b) and scores the next token, the mean
cross-entropy over the target, differentiated by autograd, and Adam
(lr 1e-3). It starts from rnnc's initial weights and batch (given in a JSON
file), so its first loss must equal rnnc's; the bench checks that.

Threads: "threads" > 0 pins OpenMP, the BLAS and torch's intra-op pool to
that many (as bench/torch_reference.py does, before torch is imported).

One argument: the path of a JSON file
  {"shape": {"B", "S", "U", "V", "K", "E", "H"}, "threads": 1, "iters": 5, "warmup": 2,
   "params": {name: {"shape": [...], "data": [...]}}, "src": [[ids]] (B x S), "tgt": [[ids]] (B x U)}
Prints {"torch": version, "threads": n, "blas": {...}, "firstLoss": x, "trainMs": median} on stdout.
"""
import json
import os
import statistics
import sys
import time

if __name__ == "__main__" and len(sys.argv) == 2:
    with open(sys.argv[1]) as f:
        CONFIG = json.load(f)
    _threads = int(CONFIG.get("threads", 0))
    if _threads > 0:
        for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_var] = str(_threads)

import torch  # noqa: E402 (after the thread variables, which the BLAS reads when it loads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import blas_info  # noqa: E402


def model(params, shape):
    p = {k: torch.nn.Parameter(torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"])) for k, v in params.items()}
    B, S, U, H = shape["B"], shape["S"], shape["U"], shape["H"]

    def loss(src, tgt):
        # src [S, B], tgt [U, B] token ids, time-major as rnnc's batches.
        x_all = p["enc.embed.table"][src]  # [S, B, E]
        h = torch.zeros(B, H)
        outs = []
        for t in range(S):
            x = x_all[t]
            z = torch.sigmoid(x @ p["enc.W_z"].T + h @ p["enc.U_z"].T + p["enc.b_z"])
            r = torch.sigmoid(x @ p["enc.W_r"].T + h @ p["enc.U_r"].T + p["enc.b_r"])
            n = torch.tanh(x @ p["enc.W_n"].T + (r * h) @ p["enc.U_n"].T + p["enc.b_n"])
            h = (1 - z) * n + z * h
            outs.append(h)
        mem = torch.stack(outs, 1)  # [B, S, H]
        mem_proj = mem @ p["y.c.W_m"].T  # [B, S, A]
        prev = torch.cat([torch.zeros(1, B, dtype=torch.long), tgt[:-1]], 0)
        e_all = p["y.E"].T[prev]  # [U, B, M]: E @ one_hot(y[t-1]) as a lookup
        s = torch.zeros(B, H)
        total = 0
        for t in range(U):
            hid = torch.tanh(mem_proj + (s @ p["y.c.W_q"].T).unsqueeze(1))
            alpha = torch.softmax(hid @ p["y.c.v"], -1)  # [B, S]
            ctx = (alpha.unsqueeze(2) * mem).sum(1)
            s = torch.tanh(e_all[t] @ p["y.W"].T + s @ p["y.U"].T + ctx @ p["y.C"].T + p["y.b"])
            logits = s @ p["y.W_y"].T + p["y.b_y"]
            total = total + torch.nn.functional.cross_entropy(logits, tgt[t])
        return total / U

    return p, loss


def main():
    shape = CONFIG["shape"]
    torch.manual_seed(0)
    if CONFIG.get("threads", 0) > 0:
        torch.set_num_threads(int(CONFIG["threads"]))
    p, loss = model(CONFIG["params"], shape)
    src = torch.tensor(CONFIG["src"], dtype=torch.long).T.contiguous()
    tgt = torch.tensor(CONFIG["tgt"], dtype=torch.long).T.contiguous()
    with torch.no_grad():
        first = float(loss(src, tgt))
    opt = torch.optim.Adam(p.values(), lr=1e-3)

    def step():
        opt.zero_grad()
        l = loss(src, tgt)
        l.backward()
        opt.step()

    for _ in range(CONFIG["warmup"]):
        step()
    times = []
    for i in range(CONFIG["iters"]):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        print(f"  PyTorch {i + 1}/{CONFIG['iters']}: {times[-1]:.0f} ms", file=sys.stderr)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_info(), "firstLoss": first, "trainMs": statistics.median(times)}))


if __name__ == "__main__":
    main()
