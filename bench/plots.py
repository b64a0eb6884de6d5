#!/usr/bin/env python3
# bench/plots.py: `make bench-plots`: draws docs/img/*.png from the benchmarks' result files
# (bench/*/results), with matplotlib (pinned in scripts/setup). No figure is typed in here: each
# comes from a results file, and a plot whose files are missing is skipped with a note.
import glob, json, math, os, re, sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "docs", "img")
DPI = 110  # 880x... pixel figures: readable on GitHub without zooming

# Hardware ceilings of the H100 runs (docs/BENCHMARKS.md, "GPU kernels"): the plots' rooflines.
H100_FMA_TFLOPS = 132 * 128 * 2 * 1.98e9 / 1e12   # SMs x fp32 lanes x 2 (FMA) x SM clock
H100_HBM_TBS = 3.35                               # datasheet memory bandwidth


def path(*p):
    return os.path.join(ROOT, *p)


def save(fig, name):
    os.makedirs(OUT, exist_ok=True)
    tmp = os.path.join(OUT, f".{name}.tmp.png")
    fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, os.path.join(OUT, name))  # atomic: a reader never sees half a PNG
    print(f"bench-plots: wrote docs/img/{name}")


def skip(name, why):
    print(f"bench-plots: {name} skipped: {why}")


# ---- PixelVM against Lua 5.4 and LuaJIT's interpreter ----------------------------------------
def vm():
    files = sorted(glob.glob(path("bench", "vm", "results", "*.md")))
    if not files:
        return skip("vm.png", "no bench/vm/results/*.md (bench/vm/run.sh > bench/vm/results/NAME.md)")
    rows = []
    for line in open(files[-1]):
        m = re.match(r"\| (\w+) \| ([\d.]+) s \| ([\d.]+) s \| ([\d.]+) s \|", line)
        if m:
            rows.append((m.group(1), *map(float, m.groups()[1:])))
    fig, ax = plt.subplots(figsize=(8, 4))
    impls = [("pxos run", "#2a9d8f"), ("lua5.4", "#8d99ae"), ("luajit -joff", "#e76f51")]
    w = 0.26
    for i, (name, col) in enumerate(impls):
        xs = [k + (i - 1) * w for k in range(len(rows))]
        rel = [r[1 + i] / r[2] for r in rows]  # time relative to lua5.4's
        bars = ax.bar(xs, rel, w, label=name, color=col)
        for b, r in zip(bars, rows):
            ax.text(b.get_x() + w / 2, b.get_height() + 0.02, f"{r[1 + i]:.3f}s", ha="center", fontsize=7)
    ax.axhline(1.0, color="#555", lw=0.8, ls="--")
    ax.set_xticks(range(len(rows)), [r[0] for r in rows])
    ax.set_ylabel("wall time / lua5.4 wall time (lower is faster)")
    ax.set_title(f"PixelVM vs Lua 5.4 and LuaJIT -joff (median of 5; {os.path.basename(files[-1])})", fontsize=10)
    ax.legend(fontsize=8)
    ax.set_ylim(0, max(r[1 + i] / r[2] for r in rows for i in range(3)) * 1.18)
    save(fig, "vm.png")


# ---- GPU kernels against torch, on the roofline ----------------------------------------------
def jsonl(p):
    out = []
    for line in open(p):
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def gpu():
    px_f, th_f = path("bench", "gpu", "results", "h100-pxos.jsonl"), path("bench", "gpu", "results", "h100-torch.jsonl")
    if not (os.path.exists(px_f) and os.path.exists(th_f)):
        return skip("gpu.png", "bench/gpu/results/h100-{pxos,torch}.jsonl missing (bench/gpu/run_h100.sh)")
    seen, pxos = set(), []
    for r in jsonl(px_f):  # the first run of each (op, kernel, shape): later ones are tuning trials
        key = (r["op"], r["kernel"], r["shape"])
        if key not in seen:
            seen.add(key)
            pxos.append(r)
    torch = jsonl(th_f)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6))

    # Roofline: x = FLOPs per byte of compulsory traffic (inputs read once, output written once).
    def intensity(op, shape):
        dims = [int(x) for x in re.findall(r"\d+", shape)[:4]]
        if op.startswith("matmul"):
            n = dims[0]
            return 2 * n ** 3 / (3 * 4 * n * n)
        bsz, h, s, d = dims  # attention: Q, K, V read, O written, fp32
        fl = 4 * bsz * h * s * s * d * (0.5 if "causal" in op or "causal" in shape else 1)
        return fl / (4 * bsz * h * s * d * 4)

    xs = [10 ** (k / 20) for k in range(20, 71)]
    a.plot(xs, [min(H100_FMA_TFLOPS, x * H100_HBM_TBS) for x in xs], color="#333", lw=1.2,
           label=f"roofline: {H100_FMA_TFLOPS:.1f} TFLOP/s fp32 FMA, {H100_HBM_TBS} TB/s")
    for r in pxos:
        if r["gflops"] <= 0 or not (r["op"] == "attention" or r["kernel"] == "v2"):
            continue
        x, y = intensity(r["op"] if r["op"] != "attention" else r["shape"], r["shape"]), r["gflops"] / 1e3
        a.scatter([x], [y], color="#2a9d8f", zorder=3)
        label = (f"{r['shape'].split('x')[0]}³") if r["op"] == "matmul" else \
            "attention" + (" causal" if "causal" in r["shape"] else "")
        a.annotate(label, (x, y), fontsize=7, xytext=(0, -12), ha="center", textcoords="offset points",
                   color="#2a9d8f")
    for r in torch:
        if r["gflops"] <= 0 or "f16" in r["op"]:
            continue
        x, y = intensity(r["op"], r["shape"] + (" causal" if "causal" in r["op"] else "")), r["gflops"] / 1e3
        a.scatter([x], [y], color="#e76f51", marker="s", zorder=3)
        if r["op"].startswith("sdpa"):
            a.annotate("SDPA" + (" causal" if "causal" in r["op"] else ""), (x, y), fontsize=7, xytext=(-7, -3),
                       ha="right", textcoords="offset points", color="#e76f51")
    a.scatter([], [], color="#2a9d8f", label="pxos (WGSL via Dawn)")
    a.scatter([], [], color="#e76f51", marker="s", label="torch (cuBLAS / SDPA, TF32 off)")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlim(10, 3000)
    a.set_ylim(3, 100)
    a.set_xlabel("arithmetic intensity (FLOP / byte; matmul n³: n/6)")
    a.set_ylabel("TFLOP/s")
    a.set_title("H100 fp32: matmul v2 and attention on the roofline", fontsize=10)
    a.legend(fontsize=7, loc="lower right")
    a.grid(True, which="both", alpha=0.25)

    # Bandwidth-bound row ops: GB/s against torch and the memory ceilings.
    ops = [r for r in pxos if r["gbps"] > 0]
    tmap = {r["op"]: r["gbps"] for r in torch if r["gbps"] > 0}
    copy = tmap.get("copy")
    w = 0.38
    for i, r in enumerate(ops):
        b.bar(i - w / 2, r["gbps"], w, color="#2a9d8f", label="pxos" if i == 0 else None)
        if r["op"] in tmap:
            b.bar(i + w / 2, tmap[r["op"]], w, color="#e76f51", label="torch" if i == 0 else None)
    b.axhline(H100_HBM_TBS * 1e3, color="#333", lw=1, label=f"{H100_HBM_TBS} TB/s datasheet")
    if copy:
        b.axhline(copy, color="#333", lw=1, ls="--", label=f"{copy / 1e3:.2f} TB/s torch copy (measured)")
    b.axhline(0.7 * H100_HBM_TBS * 1e3, color="#999", lw=1, ls=":", label="goal: 70% of datasheet")
    b.set_xticks(range(len(ops)), [r["op"] for r in ops], rotation=30, fontsize=8)
    b.set_ylabel("GB/s (input read once + output written once)")
    b.set_title("H100 bandwidth-bound kernels", fontsize=10)
    b.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    save(fig, "gpu.png")


# ---- mailbox round-trip latency ---------------------------------------------------------------
def mailbox():
    files = sorted(glob.glob(path("bench", "mailbox", "results", "*.txt")))
    if not files:
        return skip("mailbox.png", "no bench/mailbox/results/*.txt (bench/mailbox/device_run.sh)")
    runs, cur = {}, None
    for line in open(files[-1]):
        if line.startswith("## "):
            cur = line[3:].strip().removesuffix(".txt")
            runs[cur] = {}
        m = re.match(r"RESULT (\w+) ([\d.]+)", line)
        if m and cur:
            runs[cur][m.group(1)] = float(m.group(2))
    series = [("cpu", "v1", "cpu backend, v1 slot", "#2a9d8f"), ("cpu", "ring", "cpu backend, v2 ring", "#264653"),
              ("cuda1", "v1", "cuda backend, v1 (1 poll in flight)", "#e76f51"),
              ("cpu", "v1_wake_from_sleep", "v1, server asleep (futex wake)", "#8d99ae")]
    pct = [("p50", 50), ("p99", 99), ("p999", 99.9)]
    fig, ax = plt.subplots(figsize=(8, 4.4))
    for prefix, key, label, col in series:
        first = True
        for run, vals in runs.items():
            if not re.fullmatch(prefix + r"_?\d+", run) and not re.fullmatch(prefix + r"\d+", run):
                continue
            xs = [vals[f"{key}_{p}_ns"] / 1e3 for p, _ in pct if f"{key}_{p}_ns" in vals]
            ys = [-math.log10(100 - q) for _, q in pct][: len(xs)]
            ax.plot(xs, ys, marker="o", color=col, alpha=0.8, label=label if first else None)
            first = False
    ax.axvline(0.3, color="#2a9d8f", ls=":", lw=1)
    ax.text(0.3, -0.35, " goal cpu p50 < 300 ns", fontsize=7, color="#2a9d8f")
    ax.axvline(2.0, color="#e76f51", ls=":", lw=1)
    ax.text(2.0, -0.1, " goal cuda p50 < 2 µs", fontsize=7, color="#e76f51")
    ax.set_xscale("log")
    ax.set_yticks([-math.log10(100 - q) for _, q in pct], ["p50", "p99", "p99.9"])
    ax.set_xlabel("round-trip latency (µs, log)")
    ax.set_ylabel("percentile")
    ax.set_title("Mailbox round trips on the H100 host, one line per run\n"
                 f"(the percentiles each run printed; full distributions were not kept; {os.path.basename(files[-1])})",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="both", alpha=0.25)
    save(fig, "mailbox.png")


# ---- boot phases ------------------------------------------------------------------------------
def boot():
    # bench/boot/run.sh's phase files; modules-*.txt (bench/boot/modules.sh) are tables, not phases
    files = sorted(f for f in glob.glob(path("bench", "boot", "results", "*.txt"))
                   if not os.path.basename(f).startswith("modules-"))
    if not files:
        return skip("boot.png", "no bench/boot/results/*.txt (bench/boot/run.sh > bench/boot/results/NAME.txt)")
    mach, cur = {}, None
    for line in open(files[-1]):
        m = re.match(r"## (\w+):", line)
        if m:
            cur = mach.setdefault(m.group(1), {})
        m = re.match(r"(\w+)\s+([\d.]+)$", line.strip())
        if m and cur is not None:
            cur[m.group(1)] = float(m.group(2))
    phases = [("phase_long_mode_ns", "entry → long mode"), ("phase_pci_scan_done_ns", "→ PCI scan done (incl. 5 ms TSC calibration)"),
              ("phase_mailbox_ready_ns", "→ mailbox ready"), ("phase_hello_ns", "→ hello done (19 UART_WRITEs)")]
    cols = ["#264653", "#2a9d8f", "#e9c46a", "#e76f51"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3.8))
    fig.subplots_adjust(wspace=0.3)
    names = list(mach)
    for i, n in enumerate(names):
        prev = 0.0
        for (k, label), col in zip(phases, cols):
            v = mach[n][k] / 1e6
            a.barh(i, v - prev, left=prev, color=col, label=label if i == 0 else None)
            prev = v
        a.text(prev + 0.2, i, f"{prev:.1f} ms", va="center", fontsize=8)
    a.set_yticks(range(len(names)), names)
    a.set_xlabel("guest time since kernel entry (ms, TSC)")
    a.set_title("Kernel boot phases (guest clock), median of 10", fontsize=10)
    a.set_xlim(0, max(mach[n]["phase_hello_ns"] for n in names) / 1e6 * 1.2)
    a.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for i, n in enumerate(names):
        b.barh(i - 0.2, mach[n]["wall_hello_ms"], 0.38, color="#2a9d8f", label="QEMU start → hello (wall)" if i == 0 else None)
        b.barh(i + 0.2, mach[n]["baseline_wall_total_ms"], 0.38, color="#8d99ae",
               label="baseline: no mailbox, exit after PCI scan" if i == 0 else None)
        b.text(mach[n]["wall_hello_ms"] + 2, i - 0.2, f"{mach[n]['wall_hello_ms']:.1f} ms", va="center", fontsize=8)
    b.axvline(250, color="#e76f51", ls=":", lw=1)
    b.text(250, len(names) - 0.6, " goal q35 < 250 ms", fontsize=7, color="#e76f51")
    b.set_yticks(range(len(names)), names)
    b.set_xlim(0, 290)
    b.set_xlabel("wall clock (ms)")
    b.set_title(f"Boot to hello, TCG ({os.path.basename(files[-1])})", fontsize=10)
    b.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    save(fig, "boot.png")


# ---- LLM tokens/s --------------------------------------------------------------------------------
def llm():
    gpu_f = sorted(glob.glob(path("bench", "llm", "results", "*-h100-pxos_bench.json")))
    peer_f = sorted(glob.glob(path("bench", "llm", "results", "*-h100-torch_peer.json")))
    cpu_f = path("bench", "llm", "results", "peer_bench.txt")
    if not gpu_f or not peer_f or not os.path.exists(cpu_f):
        return skip("llm.png", "bench/llm/results/{*-h100-pxos_bench.json, *-h100-torch_peer.json, peer_bench.txt} missing "
                    "(bench/llm/gpu.sh, bench/llm/peer.sh bench)")
    px = json.load(open(gpu_f[-1]))
    th = json.load(open(peer_f[-1]))
    runs = {r["dtype"]: r for r in th["runs"]}
    # CPU rows: "threads 1: pxos CPU reference prefill 16 tokens 5.43 tok/s, decode 64 tokens 3.75 tok/s"
    cpu = {}
    for line in open(cpu_f):
        m = re.match(r"threads 1: (pxos CPU reference|llama\.cpp \S+)\s+prefill \d+ tokens ([\d.]+) tok/s, decode \d+ tokens ([\d.]+)", line)
        if m:
            cpu["pxos (CPU reference)" if m.group(1).startswith("pxos") else m.group(1)] = (float(m.group(2)), float(m.group(3)))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    gpu_rows = [("pxos WGSL", px["prefill"]["tok_s_wall"], px["decode"]["tok_s_wall"])]
    for dt in ("float32", "float16"):
        if dt in runs:
            gpu_rows.append((f"transformers {dt}", runs[dt]["prefill_tok_s"], runs[dt]["decode_tok_s"]))
    colours = ["#2a9d8f", "#e76f51", "#f4a261"]
    for ax, k, title in ((axes[0], 1, f"prefill, {px['prefill']['tokens']}-token prompt"),
                         (axes[1], 2, f"decode, {px['decode']['tokens']} tokens")):
        names = [r[0] for r in gpu_rows]
        vals = [r[k] for r in gpu_rows]
        ax.barh(names, vals, color=colours[: len(vals)])
        for y, v in enumerate(vals):
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=7)
        ax.set_xlabel("tokens/s")
        ax.set_title(f"{px['device']}: {title}", fontsize=8)
        ax.invert_yaxis()
        ax.margins(x=0.25)
    names = list(cpu)
    c = axes[2]
    yy = range(len(names))
    c.barh([y - 0.2 for y in yy], [cpu[n][0] for n in names], height=0.4, color="#264653", label="prefill (16 tokens)")
    c.barh([y + 0.2 for y in yy], [cpu[n][1] for n in names], height=0.4, color="#2a9d8f", label="decode (64 tokens)")
    c.set_yticks(list(yy), names)
    c.invert_yaxis()
    c.set_xlabel("tokens/s")
    c.set_title("CPU, 1 thread, 2-core development machine", fontsize=8)
    c.legend(fontsize=7)
    fig.suptitle("SmolLM2-135M-Instruct Q4_1: pxos against its peers, measured in the same runs", fontsize=10)
    fig.tight_layout()
    save(fig, "llm.png")


if __name__ == "__main__":
    for f in (vm, gpu, mailbox, boot, llm):
        f()
