#!/usr/bin/env python3
"""peer_compare.py PXOS MODEL PEER_BIN THREADS: 5 fixed chat prompts, greedy 32 tokens each, on
llama.cpp (bench/llm/peer/peer_llm) and on pxos's CPU reference in three numerics modes: fp32,
--act-quant q8_1 (ggml's activation quantization) and q8_1 + --kv-f16 (llama.cpp's f16 KV
cache). Reports, per prompt and mode, how many of the 32 greedy tokens equal llama.cpp's, and the
top-1 agreement at every step when pxos is fed llama.cpp's own tokens (teacher forcing; pxos's
greedy sequence equals llama.cpp's up to the first step where they differ), with llama.cpp's
top-1/top-2 logit gap at each disagreement (a near-tie or not). A figure, not a test."""
import os
import subprocess
import sys
import tempfile

import numpy as np

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain in one sentence what a CPU does.",
    "List three primary colors.",
    "How many legs does a spider have?",
]
N_GEN = 32
# q8_1 alone (without the f16 KV cache) too with PEER_ALL_MODES=1.
MODES = [("fp32", []), ("q8_1+kv_f16", ["--act-quant", "q8_1", "--kv-f16"])]
if os.environ.get("PEER_ALL_MODES") == "1":
    MODES.insert(1, ("q8_1", ["--act-quant", "q8_1"]))


def main():
    pxos, model, peer, threads = sys.argv[1:5]
    prompts = []
    for p in PROMPTS:
        ids = subprocess.run([pxos, "llm", "tokenize", model, "--chat", "--text", p], check=True,
                             capture_output=True, text=True).stdout.split()
        prompts.append([int(i) for i in ids])
    peer_in = "".join(",".join(map(str, ids)) + "\n" for ids in prompts)
    out = subprocess.run([peer, "greedy", model, threads, str(N_GEN)], input=peer_in, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    peer_gen, peer_top = [], []
    for line in out:
        if line.startswith("gen "):
            peer_gen.append([int(x) for x in line[4:].split(",")])
            peer_top.append([])
        elif line.startswith("top "):
            f = line.split()
            peer_top[-1].append((int(f[1]), float(f[2]), int(f[3]), float(f[4])))
    assert len(peer_gen) == len(PROMPTS), out[:3]
    vocab = None
    totals = {m: [0, 0, 0] for m, _ in MODES}  # equal greedy sequences, -, top-1 agreements
    prefill = "one token per llama_decode" if os.environ.get("PEER_PREFILL_ONE") == "1" else "one batched llama_decode"
    print(f"llama.cpp peer vs pxos CPU reference: {len(PROMPTS)} ChatML prompts, greedy {N_GEN} tokens; "
          f"llama.cpp's prompt: {prefill}")
    for i, ids in enumerate(prompts):
        text = subprocess.run([pxos, "llm", "detokenize", model] + [str(t) for t in peer_gen[i]], check=True,
                              capture_output=True).stdout.decode("utf-8", "replace")
        print(f"\nprompt {i + 1}: {PROMPTS[i]!r} ({len(ids)} tokens)\n  llama.cpp: {text!r}", flush=True)
        for mode, flags in MODES:
            with tempfile.NamedTemporaryFile(suffix=".f32") as f:
                forced = ids + peer_gen[i][:-1]
                subprocess.run([pxos, "llm", "eval", model, "--ids", ",".join(map(str, forced)), "--threads", threads,
                                "--logits", f.name] + flags, check=True, capture_output=True)
                logits = np.fromfile(f.name, dtype="<f4")
            vocab = vocab or logits.size // len(forced)
            rows = logits.reshape(len(forced), vocab)[len(ids) - 1:]
            arg = rows.argmax(axis=1)
            agree = int((arg == np.array(peer_gen[i])).sum())
            misses = [k for k in range(N_GEN) if arg[k] != peer_gen[i][k]]
            # Greedy decoding follows llama.cpp's tokens exactly up to the first step whose top-1
            # differs (same prefix, same choice), so that step is where the sequences part.
            same = misses[0] if misses else N_GEN
            gaps = ", ".join(f"step {k}: llama.cpp gap {peer_top[i][k][1] - peer_top[i][k][3]:.4f}" for k in misses[:4])
            totals[mode][0] += same == N_GEN
            totals[mode][2] += agree
            print(f"  {mode:<12} greedy: first {same}/{N_GEN} tokens equal; top-1 on llama.cpp's tokens: {agree}/{N_GEN}"
                  + (f" ({gaps})" if misses else ""), flush=True)
    print("\nsummary (5 prompts x 32 steps = 160):")
    for mode, _ in MODES:
        e, t, a = totals[mode]
        print(f"  {mode:<12} identical 32-token sequences {e}/5, top-1 agreement {a}/160 steps")


if __name__ == "__main__":
    main()
