#!/usr/bin/env python3
"""PyTorch-CPU reference figures for `npm run bench` (bench/torch.ts runs it).

The same rows as the TensorFlow.js benchmark: a one-hot input of X tokens
(row "input": "tokens") or X real-valued features (row "input": "dense"),
torch.nn.RNN (tanh) / LSTM / GRU with H units over T steps, a Linear layer to
O classes and the softmax cross-entropy, trained with Adam (lr 1e-3) on one
fixed random batch, time-major [T, B] like rnnc's batches. A streaming step is
one time step at batch 1 under torch.no_grad(), the state carried. PyTorch
starts from its own initial weights and data (torch.nn.GRU is the
reset-after GRU, not rnnc's gru): its losses are not compared with rnnc's.

Threads: "threads" > 0 pins OpenMP, the BLAS and torch's intra-op pool to
that many (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS are set
before torch is imported, then torch.set_num_threads); the output names the
BLAS torch was built with and its parallel setup, since Debian's torch runs
the slow reference BLAS unless libopenblas0-pthread is installed.

Reads one JSON object as its only argument:
  {"rows": [{"cell": "lstm", "size": "M", "B": 32, "T": 64, "X": 128, "H": 256, "O": 128}, ...],
   "iters": 5, "warmup": 2, "inferIters": 100, "threads": 0}
(threads 0: PyTorch's default). Prints one JSON object on stdout:
  {"torch": "2.x", "threads": 2, "blas": "...", "rows": [{"cell", "size", "input", "trainMs", "inferMs"}, ...]}
Progress goes to stderr. Needs only torch; never downloads anything.
"""
import json
import os
import statistics
import sys
import time

if __name__ == "__main__" and len(sys.argv) == 2:
    _threads = int(json.loads(sys.argv[1]).get("threads", 0))
    if _threads > 0:
        for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_var] = str(_threads)

import torch  # noqa: E402 (after the thread variables, which the BLAS reads when it loads)


def blas_info():
    """The BLAS and LAPACK lines of torch's build configuration, and which libraries the process loaded."""
    import re

    lines = re.findall(r"(?:BLAS|LAPACK)_INFO=\w+", torch.__config__.show())
    loaded = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                name = line.strip().split("/")[-1]
                if "blas" in name.lower() or "lapack" in name.lower() or "mkl" in name.lower():
                    loaded.add(name)
    except OSError:
        pass
    parallel = [l.strip() for l in torch.__config__.parallel_info().splitlines() if l.strip()]
    return {"build": lines, "loaded": sorted(loaded), "parallel": parallel}


def make_model(cell, x, h, o):
    kinds = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    if cell not in kinds:
        raise SystemExit(f"unknown cell {cell!r} (rnn, lstm, gru)")
    rnn = kinds[cell](input_size=x, hidden_size=h)
    return rnn, torch.nn.Linear(h, o)


def median_ms(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run_row(row, iters, warmup, infer_iters):
    torch.manual_seed(1)
    b, t, x, h, o = row["B"], row["T"], row["X"], row["H"], row["O"]
    rnn, dense = make_model(row["cell"], x, h, o)
    params = list(rnn.parameters()) + list(dense.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    dense_input = row.get("input", "tokens") == "dense"
    xs = torch.randint(0, x, (t, b))
    ts = torch.randint(0, o, (t, b))
    inputs = torch.rand(t, b, x) * 2 - 1 if dense_input else torch.nn.functional.one_hot(xs, x).float()

    def train_step():
        optimizer.zero_grad()
        ys, _ = rnn(inputs)
        loss = loss_fn(dense(ys).reshape(t * b, o), ts.reshape(t * b))
        loss.backward()
        optimizer.step()
        return loss.item()

    train_ms = median_ms(train_step, warmup, iters)

    stream = (torch.rand(64, 1, 1, x) * 2 - 1) if dense_input else torch.nn.functional.one_hot(torch.randint(0, x, (64,)), x).float().reshape(64, 1, 1, x)
    state = {"h": None, "k": 0}

    def infer_step():
        with torch.no_grad():
            y, state["h"] = rnn(stream[state["k"] % 64], state["h"])
            torch.softmax(dense(y), -1)
        state["k"] += 1

    infer_ms = median_ms(infer_step, 10, infer_iters) if infer_iters > 0 else None  # --infer-iters 0: not measured
    return {"cell": row["cell"], "size": row["size"], "input": row.get("input", "tokens"), "trainMs": train_ms, "inferMs": infer_ms}


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: torch_reference.py '<json config>'")
    config = json.loads(sys.argv[1])
    if config.get("threads", 0) > 0:
        torch.set_num_threads(int(config["threads"]))
    rows = []
    for row in config["rows"]:
        print(f"torch {row['cell']} {row['size']} {row.get('input', 'tokens')}", file=sys.stderr, flush=True)
        rows.append(run_row(row, int(config["iters"]), int(config["warmup"]), int(config["inferIters"])))
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_info(), "rows": rows}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
