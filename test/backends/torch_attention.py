# The attention encoder-decoder of test/helpers/programs.ts (attentionSeq2seq)
# written by hand in PyTorch, float64, from the equations in
# compiler/stdlib/cells.rnn and docs/language.md: a bidirectional GRU
# encoder with padding masks, an additive-attention decoder over the
# target's own steps, teacher forcing from the start token 0, and the mean
# cross-entropy over the target's real positions. Reads the parameters and
# the batch as JSON on stdin; prints the loss and every parameter's gradient
# (torch.autograd) as JSON. Used by test/backends/torch-attention.test.ts.
import json
import sys

import torch

torch.set_default_dtype(torch.float64)
inp = json.load(sys.stdin)
P = {k: torch.tensor(v["data"]).reshape(v["shape"]).requires_grad_(True) for k, v in inp["params"].items()}
src = torch.tensor(inp["src"]["data"]).long().reshape(inp["src"]["shape"])  # [T, B]
tgt = torch.tensor(inp["tgt"]["data"]).long().reshape(inp["tgt"]["shape"])  # [U, B]
mask = torch.tensor(inp["mask"]["data"]).reshape(inp["mask"]["shape"])  # [T, B]
tmask = torch.tensor(inp["target_mask"]["data"]).reshape(inp["target_mask"]["shape"])  # [U, B]
T, B = src.shape
U = tgt.shape[0]


def lin(W, x):
    return x @ W.T


def gru(prefix, xs, reverse):
    H = P[prefix + ".U_z"].shape[0]
    h = torch.zeros(B, H)
    out = [None] * T
    steps = range(T - 1, -1, -1) if reverse else range(T)
    for t in steps:
        x = xs[t]
        z = torch.sigmoid(lin(P[prefix + ".W_z"], x) + lin(P[prefix + ".U_z"], h) + P[prefix + ".b_z"])
        r = torch.sigmoid(lin(P[prefix + ".W_r"], x) + lin(P[prefix + ".U_r"], h) + P[prefix + ".b_r"])
        n = torch.tanh(lin(P[prefix + ".W_n"], x) + lin(P[prefix + ".U_n"], r * h) + P[prefix + ".b_n"])
        fresh = (1 - z) * n + z * h
        m = mask[t].unsqueeze(1)
        h = h + m * (fresh - h)  # padded steps keep the state
        out[t] = h
    return torch.stack(out)


e = P["enc.embed.table"][src]  # [T, B, E]
enc = torch.cat([gru("enc.fw", e, False), gru("enc.bw", e, True)], dim=2)  # [T, B, 2H]
mem = enc.transpose(0, 1)  # [B, L, D]
mem_mask = mask.transpose(0, 1)  # [B, L]
K = P["y.b_y"].shape[0]
H = P["y.U"].shape[0]
s = torch.zeros(B, H)
prev = torch.cat([torch.zeros(1, B).long(), tgt[:-1]], dim=0)  # the start token, then the target one step late
losses = []
for t in range(U):
    emb = lin(P["y.E"], torch.nn.functional.one_hot(prev[t], K).double())
    scores = (torch.tanh(lin(P["y.c.W_m"], mem) + lin(P["y.c.W_q"], s).unsqueeze(1)) * P["y.c.v"]).sum(2)
    scores = scores - (1 - mem_mask) * 1e9
    alpha = torch.softmax(scores, dim=1)
    ctx = (alpha.unsqueeze(2) * mem).sum(1)
    fresh = torch.tanh(lin(P["y.W"], emb) + lin(P["y.U"], s) + lin(P["y.C"], ctx) + P["y.b"])
    logits = lin(P["y.W_y"], fresh) + P["y.b_y"]
    losses.append(torch.nn.functional.cross_entropy(logits, tgt[t], reduction="none"))
    s = s + tmask[t].unsqueeze(1) * (fresh - s)
nll = torch.stack(losses)  # [U, B]
loss = (nll * tmask).sum() / tmask.sum()
loss.backward()
json.dump({"loss": loss.item(), "grads": {k: v.grad.flatten().tolist() for k, v in P.items()}}, sys.stdout)
