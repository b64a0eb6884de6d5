#!/usr/bin/env python3
# ref_forward.py: an independent numpy llama forward pass over a GGUF (weights dequantised by the
# `gguf` package, not by pxos), checked against the logits and greedy tokens `pxos llm eval` wrote.
import argparse
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def field(r, key, default=None):
    f = r.fields.get(key)
    if f is None:
        if default is None:
            sys.exit(f"ref_forward: metadata '{key}' is missing")
        return default
    return f.parts[f.data[0]][0]


def load(path):
    r = GGUFReader(path)
    hp = {
        "dim": int(field(r, "llama.embedding_length")),
        "n_layer": int(field(r, "llama.block_count")),
        "n_head": int(field(r, "llama.attention.head_count")),
        "n_kv": int(field(r, "llama.attention.head_count_kv")),
        "base": float(field(r, "llama.rope.freq_base", 10000.0)),
        "eps": float(field(r, "llama.attention.layer_norm_rms_epsilon")),
    }
    w = {}
    for t in r.tensors:
        # numpy shape is the ggml dims reversed: [rows, cols], so y = W @ x.
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        w[t.name] = a.reshape([int(d) for d in reversed(t.shape)])
    return hp, w


def rmsnorm(x, g, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g


def rope(x, pos, base):
    # Adjacent pairs (x[2i], x[2i+1]) turn by pos * base^(-2i/d): llama.cpp's "normal" mode,
    # which GGUF llama files expect (their Q/K rows were permuted by the converter for it).
    d = x.shape[-1]
    freq = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    ang = pos[:, None] * freq[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def forward(hp, w, ids):
    """Logits at every position of ids (causal attention), float64 activations."""
    n, dim, nh, nkv = len(ids), hp["dim"], hp["n_head"], hp["n_kv"]
    hd = dim // nh
    pos = np.arange(n, dtype=np.float64)
    x = w["token_embd.weight"][ids].astype(np.float64)
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for l in range(hp["n_layer"]):
        p = f"blk.{l}."
        h = rmsnorm(x, w[p + "attn_norm.weight"], hp["eps"])
        q = (h @ w[p + "attn_q.weight"].T).reshape(n, nh, hd)
        k = (h @ w[p + "attn_k.weight"].T).reshape(n, nkv, hd)
        v = (h @ w[p + "attn_v.weight"].T).reshape(n, nkv, hd)
        q, k = rope(q, pos, hp["base"]), rope(k, pos, hp["base"])
        rep = nh // nkv  # query head j reads kv head j // rep
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        att = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        att = np.exp(att - att.max(axis=-1, keepdims=True))
        att /= att.sum(axis=-1, keepdims=True)
        o = np.einsum("hts,shd->thd", att, v).reshape(n, dim)
        x = x + o @ w[p + "attn_output.weight"].T
        h = rmsnorm(x, w[p + "ffn_norm.weight"], hp["eps"])
        g, u = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
        x = x + (g / (1.0 + np.exp(-g)) * u) @ w[p + "ffn_down.weight"].T
    x = rmsnorm(x, w["output_norm.weight"], hp["eps"])
    head = w.get("output.weight", w["token_embd.weight"])
    return x @ head.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--ids", required=True, help="the prompt ids given to pxos")
    ap.add_argument("--generated", default="", help="the ids pxos generated greedily")
    ap.add_argument("--logits", required=True, help="the f32 rows `pxos llm eval --logits` wrote")
    ap.add_argument("--label", default="", help="printed with every line (e.g. the seed)")
    ap.add_argument("--abs", type=float, default=1e-4)
    ap.add_argument("--rel", type=float, default=1e-3)
    a = ap.parse_args()
    ids = [int(t) for t in a.ids.split(",")]
    gen = [int(t) for t in a.generated.split(",")] if a.generated else []
    seq = ids + gen[:-1]
    hp, w = load(a.model)
    ref = forward(hp, w, seq)
    got = np.fromfile(a.logits, dtype="<f4")
    tag = f"[{a.label}] " if a.label else ""
    if got.size != ref.size:
        print(f"{tag}FAIL: {a.logits} holds {got.size} floats, expected {ref.shape[0]} rows of {ref.shape[1]}")
        return 1
    got = got.reshape(ref.shape).astype(np.float64)
    err = np.abs(got - ref)
    bad = err > a.abs + a.rel * np.abs(ref)
    rel = err / np.maximum(np.abs(ref), 1e-6)
    print(f"{tag}{len(seq)} positions x {ref.shape[1]} logits: max abs err {err.max():.3g}, "
          f"max rel err (|ref|>1) {rel[np.abs(ref) > 1].max() if (np.abs(ref) > 1).any() else 0:.3g}")
    failed = False
    if bad.any():
        failed = True
        rows, cols = np.nonzero(bad)
        print(f"{tag}FAIL: {bad.sum()} logits outside abs {a.abs} + rel {a.rel}*|ref|; first:")
        for r, c in list(zip(rows, cols))[:8]:
            print(f"{tag}  position {r} token {c}: pxos {got[r, c]:.6f} numpy {ref[r, c]:.6f}")
    for i, t in enumerate(gen):
        want = int(np.argmax(ref[len(ids) - 1 + i]))
        if want != t:
            failed = True
            print(f"{tag}FAIL: generated token {i}: pxos {t}, numpy greedy {want}")
            break
    if not failed:
        print(f"{tag}ok: logits within tolerance" + (f", {len(gen)} greedy tokens agree" if gen else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
