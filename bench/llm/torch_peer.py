#!/usr/bin/env python3
"""bench/llm/torch_peer.py MODEL.gguf [--prompt 512] [--decode 128] [--json FILE]: the peer of
`pxos llm bench`: transformers + torch on the same GGUF (transformers dequantises its blocks
through the `gguf` package, so the peer runs dense fp32 / fp16 weights, not packed Q4_1), prefill
of one P-token batch and greedy decode at batch 1 with its KV cache, plus the device copy
bandwidth (read + write) that the pxos figures are a share of. Runs on the GPU machine."""
import argparse, json, os, time

import torch
from transformers import AutoModelForCausalLM


def timed(fn, reps):
    out = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t) * 1e3)
    out.sort()
    return out[len(out) // 2]


def copy_bandwidth():
    n = 1 << 28  # 1 GiB of fp32
    a = torch.empty(n, dtype=torch.float32, device="cuda")
    b = torch.empty_like(a)
    b.copy_(a)
    ms = timed(lambda: b.copy_(a), 20)
    return 2 * a.numel() * 4 / (ms * 1e-3) / 1e9


def run(path, dtype, prompt, decode):
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(path)),
                                                 gguf_file=os.path.basename(path), torch_dtype=dtype).cuda().eval()
    vocab = model.config.vocab_size
    ids = torch.tensor([[(i * 7919 + 13) % vocab for i in range(prompt)]], device="cuda")
    with torch.no_grad():
        model(ids[:, :8])
        pf = timed(lambda: model(ids, use_cache=False), 3)
        start = ids[:, :1]
        # Greedy decode of `decode` tokens after the first: generate() with a KV cache, batch 1.
        gen = lambda: model.generate(start, max_new_tokens=decode + 1, min_new_tokens=decode + 1, do_sample=False)
        gen()
        total = timed(gen, 3)
    return {"dtype": str(dtype).replace("torch.", ""), "prefill_tokens": prompt, "prefill_ms": pf,
            "prefill_tok_s": prompt / pf * 1e3, "decode_tokens": decode + 1, "generate_ms": total,
            "decode_tok_s": (decode + 1) / total * 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--json")
    a = ap.parse_args()
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "copy_GBps": copy_bandwidth(), "runs": []}
    print(f"peer device {res['device']}, torch {res['torch']}: copy {res['copy_GBps']:.0f} GB/s (read + write)")
    for dt in (torch.float32, torch.float16):
        r = run(a.model, dt, a.prompt, a.decode)
        res["runs"].append(r)
        print(f"transformers {r['dtype']}: prefill {a.prompt} tokens {r['prefill_ms']:.2f} ms ({r['prefill_tok_s']:.0f} tok/s), "
              f"decode {r['decode_tok_s']:.1f} tok/s (generate of {r['decode_tokens']} tokens {r['generate_ms']:.1f} ms)")
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump(res, f, indent=2)
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
