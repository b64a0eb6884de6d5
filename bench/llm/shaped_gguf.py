#!/usr/bin/env python3
"""bench/llm/shaped_gguf.py: a GGUF with a real model's shapes, types and metadata (tokenizer,
chat template) but pseudo-random quantised blocks, for the GPU machine, where the real file
cannot travel (it is larger than what one run may carry).
  shaped_gguf.py split REAL.gguf DIR   writes DIR/header.bin (the bytes before the tensor data)
                                       and DIR/tensors.json (types, offsets, the F32 tensors' bytes)
  shaped_gguf.py fill DIR OUT.gguf     writes OUT: that header, the F32 tensors as they were (the
                                       norms), Q4_1 / Q8_0 blocks from a fixed seed.
Speed is the same as the real file's (the kernels do not depend on the values); the logits are
not the real model's, so token-level comparisons with a peer are meaningless on it."""
import base64, json, os, struct, sys

TYPES = {0: ("F32", 4, 1), 1: ("F16", 2, 1), 2: ("Q4_0", 18, 32), 3: ("Q4_1", 20, 32), 8: ("Q8_0", 34, 32)}
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def split(real, out):
    b = open(real, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, b, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        s = b[pos:pos + n]
        pos += n
        return s.decode("utf-8", "replace")

    def skip_value(t):
        nonlocal pos
        if t == 8:
            string()
        elif t == 9:
            et, n = take("I"), take("Q")
            if et == 8:
                for _ in range(n):
                    string()
            else:
                pos += SCALAR[et] * n
        else:
            pos += SCALAR[t]

    magic, version, n_t, n_kv = take("I"), take("I"), take("Q"), take("Q")
    assert magic == 0x46554747 and version in (2, 3), f"{real}: not a GGUF v2/v3"
    align = 32
    for _ in range(n_kv):
        key, t = string(), take("I")
        if key == "general.alignment":
            align = take("I")
        else:
            skip_value(t)
    tensors = []
    for _ in range(n_t):
        name, nd = string(), take("I")
        dims = [take("Q") for _ in range(nd)]
        t, off = take("I"), take("Q")
        assert t in TYPES, f"{real}: tensor {name} of type {t}"
        n = 1
        for d in dims:
            n *= d
        _, bs, be = TYPES[t]
        tensors.append({"name": name, "type": t, "offset": off, "bytes": n // be * bs})
    start = (pos + align - 1) // align * align
    for x in tensors:
        if x["type"] == 0:
            x["data"] = base64.b64encode(b[start + x["offset"]:start + x["offset"] + x["bytes"]]).decode()
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "header.bin"), "wb").write(b[:start])
    json.dump({"source_bytes": len(b), "tensors": tensors}, open(os.path.join(out, "tensors.json"), "w"))


def fill(d, out):
    import numpy as np
    head = open(os.path.join(d, "header.bin"), "rb").read()
    meta = json.load(open(os.path.join(d, "tensors.json")))
    rng = np.random.default_rng(20261207)
    data = bytearray(meta["source_bytes"] - len(head))
    for x in meta["tensors"]:
        t, n, o = x["type"], x["bytes"], x["offset"]
        if "data" in x:
            blob = base64.b64decode(x["data"])
        elif t == 3:  # Q4_1: d, m (f16), 16 bytes of nibbles; values d * q + m centred on 0
            nb = n // 20
            dd = rng.uniform(0.004, 0.008, nb).astype(np.float16)
            mm = (-7.5 * dd.astype(np.float32)).astype(np.float16)
            blk = np.empty((nb, 20), np.uint8)
            blk[:, 0:2] = dd.view(np.uint8).reshape(nb, 2)
            blk[:, 2:4] = mm.view(np.uint8).reshape(nb, 2)
            blk[:, 4:] = rng.integers(0, 256, (nb, 16), dtype=np.uint8)
            blob = blk.tobytes()
        elif t == 8:  # Q8_0: d (f16), 32 signed bytes
            nb = n // 34
            blk = np.empty((nb, 34), np.uint8)
            blk[:, 0:2] = rng.uniform(0.0005, 0.001, nb).astype(np.float16).view(np.uint8).reshape(nb, 2)
            blk[:, 2:] = np.clip(rng.normal(0, 40, (nb, 32)), -127, 127).astype(np.int8).view(np.uint8)
            blob = blk.tobytes()
        else:
            raise SystemExit(f"{x['name']}: type {t} is not generated")
        data[o:o + n] = blob
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(data)
    os.replace(tmp, out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "split":
        split(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "fill":
        fill(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
