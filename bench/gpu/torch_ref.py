#!/usr/bin/env python3
# torch_ref.py: the torch side of the GPU benchmark, run in the same session as `pxos gpu bench`
# on the H100: fp32 matmul (TF32 off), SDPA fp32, softmax / norms / activations bandwidth, and a
# device-to-device copy as the measured memory roofline. Median of several CUDA-event timings.
import json, statistics, sys
import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"
REPS = 20

def timeit(fn, reps=REPS, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)

def row(op, shape, ms, gflops=0.0, gbps=0.0):
    r = {"op": op, "impl": "torch " + torch.__version__, "shape": shape, "ms_median": round(ms, 5),
         "gflops": round(gflops, 1), "gbps": round(gbps, 1)}
    print(json.dumps(r)); sys.stdout.flush()

g = torch.Generator(device=dev).manual_seed(0)
def rnd(*s, dtype=torch.float32):
    return torch.rand(*s, device=dev, generator=g, dtype=dtype) * 2 - 1

# memory roofline: copy (read + write)
x = rnd(1 << 28)  # 1 GiB
y = torch.empty_like(x)
ms = timeit(lambda: y.copy_(x))
row("copy", "2^28 f32", ms, gbps=2 * x.numel() * 4 / ms / 1e6)
del x, y

for n in (1024, 2048, 4096, 8192):
    a, b = rnd(n, n), rnd(n, n)
    ms = timeit(lambda: a @ b)
    row("matmul f32 (TF32 off)", f"{n}x{n}x{n}", ms, gflops=2 * n**3 / ms / 1e6)
a, b = rnd(4096, 4096, dtype=torch.float16), rnd(4096, 4096, dtype=torch.float16)
ms = timeit(lambda: a @ b)
row("matmul f16", "4096x4096x4096", ms, gflops=2 * 4096**3 / ms / 1e6)

for causal in (True, False):
    q, k, v = (rnd(1, 32, 2048, 128) for _ in range(3))
    ms = timeit(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
    fl = 4 * 32 * 2048 * 2048 * 128 * (0.5 if causal else 1.0)
    row("sdpa f32" + (" causal" if causal else ""), "1x32x2048x128", ms, gflops=fl / ms / 1e6)

rows, cols = 16384, 4096
x = rnd(rows, cols) * 4
w, bias = rnd(cols) + 1.5, rnd(cols)
byt = 2 * rows * cols * 4
for name, fn in [("softmax", lambda: torch.softmax(x, dim=-1)),
                 ("layernorm", lambda: F.layer_norm(x, (cols,), w, bias, 1e-5)),
                 ("rmsnorm", lambda: F.rms_norm(x, (cols,), w, 1e-5) if hasattr(F, "rms_norm") else x),
                 ("relu", lambda: F.relu(x)),
                 ("leaky_relu", lambda: F.leaky_relu(x, 0.01)),
                 ("gelu", lambda: F.gelu(x, approximate="tanh")),
                 ("silu", lambda: F.silu(x))]:
    ms = timeit(fn)
    row(name, f"{rows}x{cols}", ms, gbps=byt / ms / 1e6)
