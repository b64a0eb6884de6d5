#!/usr/bin/env python3
# pictures_test.py: carts (made, re-saved through Pillow and ImageMagick, damaged, refused), the
# view's grid/outlines/legend and the run heat-map, checked by decoding the PNGs pxos writes.
import os, re, shutil, struct, subprocess, sys, tempfile

from PIL import Image

PXOS = os.environ["PXOS"]
SRC = os.environ["PXOS_SOURCE_DIR"]
T = tempfile.mkdtemp()
fails = []
passes = 0


def check(name, cond, detail=""):
    global passes
    if cond:
        passes += 1
    else:
        fails.append(f"{name}: {detail}")
        print(f"FAIL: {name}: {detail}")


def px(*args):
    return subprocess.run([PXOS, *args], capture_output=True, text=True, timeout=120)


def expect_fail(name, status, *args, stdout=""):
    r = px(*args)
    lines = r.stderr.strip().split("\n")
    check(name, r.returncode == status and len(lines) == 1 and r.stdout == stdout,
          f"rc {r.returncode} (want {status}), stderr {r.stderr!r}, stdout {r.stdout!r}")
    return r.stderr


def chunks(path):  # PNG chunk types, in order
    data = open(path, "rb").read()
    out, at = [], 8
    while at < len(data):
        n = struct.unpack(">I", data[at:at + 4])[0]
        out.append(data[at + 4:at + 8].decode("latin-1"))
        at += 12 + n
    return out


def p(name):
    return os.path.join(T, name)


# ---- carts ----------------------------------------------------------------------------------
px("asm", f"{SRC}/examples/fib.pxasm", "-o", p("fib.pxi"))
want = px("run", p("fib.pxi")).stdout
check("fib runs", want.strip() == "6765", want)

# A label with detail in every bit (a seeded pattern), RGB and RGBA.
lab = Image.new("RGB", (96, 80))
lab.putdata([((x * 7 + y * 3) % 256, (x * y + 11) % 256, (x ^ y) * 5 % 256) for y in range(80) for x in range(96)])
lab.save(p("label.png"))
lab.convert("RGBA").save(p("label_rgba.png"))

r = px("cart", "make", p("fib.pxi"), "--label", p("label.png"), "-o", p("cart.png"))
check("cart make", r.returncode == 0, r.stderr)
m = re.search(r"96x80 label, (\d) bits? per channel, (\d+) of (\d+) bytes used", r.stdout)
check("capacity reported", m is not None, r.stdout)
if m:
    bits, used, cap = map(int, m.groups())
    check("capacity figure", cap == ((96 * 80 * 3 - 176) * bits) // 8, r.stdout)
check("cart has the chunk", "pxCa" in chunks(p("cart.png")), chunks(p("cart.png")))
check("run cart (chunk)", px("run", p("cart.png")).stdout == want)
# The visible picture is the label's, changed only in the low bits.
orig, cart = lab.load(), Image.open(p("cart.png")).convert("RGB").load()
mx = max(abs(a - b) for y in range(80) for x in range(96) for a, b in zip(orig[x, y], cart[x, y]))
# (the header's channels are at 2 bits whatever the payload's depth)
check("label kept (low bits only)", mx < (1 << max(2, int(m.group(1)))) if m else False, f"max channel change {mx}")

# Re-saved through Pillow (drops private chunks) and ImageMagick -strip: the pixels alone carry it.
Image.open(p("cart.png")).save(p("pillow.png"))
check("pillow dropped the chunk", "pxCa" not in chunks(p("pillow.png")), chunks(p("pillow.png")))
check("run pillow re-save", px("run", p("pillow.png")).stdout == want)
r = px("inspect", p("pillow.png"))
check("inspect pillow re-save", "read from: the pixels (no pxCa chunk)" in r.stdout and "capacity:" in r.stdout, r.stdout)
subprocess.run(["convert", p("cart.png"), "-strip", p("magick.png")], check=True)
check("convert -strip dropped the chunk", "pxCa" not in chunks(p("magick.png")), chunks(p("magick.png")))
check("run convert -strip", px("run", p("magick.png")).stdout == want)
check("disasm convert -strip", px("disasm", p("magick.png")).stdout == px("disasm", p("fib.pxi")).stdout)

# RGBA label and every depth, each through the strip.
for b in (1, 2, 3, 4):
    r = px("cart", "make", p("fib.pxi"), "--label", p("label_rgba.png"), "--bits", str(b), "-o", p(f"c{b}.png"))
    check(f"--bits {b}", r.returncode == 0 and f"{b} bit" in r.stdout, r.stdout + r.stderr)
    subprocess.run(["convert", p(f"c{b}.png"), "-strip", p(f"c{b}s.png")], check=True)
    check(f"--bits {b} stripped runs", px("run", p(f"c{b}s.png")).stdout == want)

# Default label: the program's name over its pixel view, PICO-8's 160x205.
r = px("cart", "make", p("fib.pxi"), "-o", p("default.png"))
check("default label", r.returncode == 0 and "160x205 label" in r.stdout, r.stdout + r.stderr)
d = Image.open(p("default.png")).convert("RGB")
check("default label size", d.size == (160, 205), d.size)
title = [d.getpixel((x, y)) for y in range(6, 16) for x in range(160)]
check("default label has a title", sum(1 for c in title if min(c) >= 200) > 20, "no light title pixels")
colours = {d.getpixel((x, y))[0] >> 2 for y in range(30, 180) for x in range(10, 150)}
check("default label shows the pixels", len(colours) > 10, f"{len(colours)} colours")
Image.open(p("default.png")).save(p("default_pillow.png"))
check("default label cart runs stripped", px("run", p("default_pillow.png")).stdout == want)

# Bad input: one line, non-zero exit.
Image.new("RGB", (8, 8), (90, 90, 90)).save(p("tiny.png"))
e = expect_fail("label too small", 4, "cart", "make", p("fib.pxi"), "--label", p("tiny.png"), "-o", p("bad.png"))
check("label too small names the label", "tiny.png" in e and "8x8" in e, e)
check("no output for a too-small label", not os.path.exists(p("bad.png")))
# Lossy damage: flip low bits across the payload's channels of the stripped copy.
im = Image.open(p("pillow.png")).convert("RGB")
for i in range(70, 90):
    x, y = i % 96, i // 96
    r_, g_, b_ = im.getpixel((x, y))
    im.putpixel((x, y), (r_ ^ 1, g_ ^ 3, b_ ^ 1))
im.save(p("damaged.png"))
e = expect_fail("damaged cart", 4, "run", p("damaged.png"))
check("damaged names the file", "damaged.png" in e and "SHA-256" in e, e)
expect_fail("damaged cart (inspect)", 4, "inspect", p("damaged.png"))
# The same damage with the chunk still there: it runs from the chunk, inspect says so.
def raw_chunks(path):
    data = open(path, "rb").read()
    out, at = [], 8
    while at < len(data):
        n = struct.unpack(">I", data[at:at + 4])[0]
        out.append((data[at + 4:at + 8], data[at:at + 12 + n]))
        at += 12 + n
    return out


orig_chunks, dmg_chunks = raw_chunks(p("cart.png")), raw_chunks(p("damaged.png"))
with open(p("chunk_damaged.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(b"".join(c for t, c in orig_chunks if t in (b"IHDR", b"pxCa")))
    f.write(b"".join(c for t, c in dmg_chunks if t == b"IDAT"))
    f.write(b"".join(c for t, c in orig_chunks if t == b"IEND"))
check("run from the chunk, pixels damaged", px("run", p("chunk_damaged.png")).stdout == want)
r = px("inspect", p("chunk_damaged.png"))
check("inspect says the pixels are damaged", "read from: the pxCa chunk; pixels damaged" in r.stdout, r.stdout)
r = px("inspect", p("cart.png"))
check("inspect intact cart", "read from: the pxCa chunk; pixels intact" in r.stdout, r.stdout)
# A JPEG (what a lossy re-encode yields): refused, one line.
Image.open(p("cart.png")).convert("RGB").save(p("cart.jpg"), quality=95)
e = expect_fail("jpeg cart", 4, "run", p("cart.jpg"))
check("jpeg names the file", "cart.jpg" in e and "JPEG" in e, e)
expect_fail("jpeg label", 4, "cart", "make", p("fib.pxi"), "--label", p("cart.jpg"), "-o", p("bad.png"))
# A PNG that is no cart and no .pxi.
expect_fail("plain png", 4, "run", p("label.png"))
expect_fail("--bits 5", 2, "cart", "make", p("fib.pxi"), "--bits", "5", "-o", p("bad.png"))

# ---- view: grid, outlines, legend, --regions --------------------------------------------------
regions = {}
r = px("view", p("fib.pxi"), "--regions")
for line in r.stdout.splitlines():
    mm = re.match(r"(\S.*?)\s+bytes 0x([0-9a-f]+)(?:-0x([0-9a-f]+))?\s+(\d+) bytes", line)
    if mm:
        regions[mm.group(1)] = (int(mm.group(2), 16), int(mm.group(4)))
payload = int(re.search(r"payload:\s+(\d+) bytes", px("inspect", p("fib.pxi")).stdout).group(1))
code_len = int(re.search(r"code:\s+(\d+) bytes", px("inspect", p("fib.pxi")).stdout).group(1))
check("--regions lists every section", list(regions) == ["header", "code", "symbols", "line map", "relocations",
                                                          "source name"], r.stdout)
check("--regions: header is 28 bytes", regions.get("header") == (0, 28), regions)
check("--regions: code after the header", regions.get("code") == (28, code_len), regions)
check("--regions cover the payload", sum(n for _, n in regions.values()) == payload, regions)

S = 16
r = px("view", p("fib.pxi"), "-o", p("view.png"), "--scale", str(S))
mm = re.search(r"pixel \(0,0\) at \((\d+),(\d+)\), each pixel 16x16", r.stdout)
check("view geometry reported", mm is not None, r.stdout)
ox, oy = map(int, mm.groups()) if mm else (0, 0)
src, v = Image.open(p("fib.pxi")).convert("RGB"), Image.open(p("view.png")).convert("RGB")
W, H = src.size
bad = [(x, y) for y in range(H) for x in range(W)
       if v.getpixel((ox + x * S + S // 2, oy + y * S + S // 2)) != src.getpixel((x, y))]
check("view: every pixel's centre is its colour", not bad, bad[:5])


def owner(pix):  # the region of a pixel's first byte
    for name, (b, n) in regions.items():
        if b <= pix * 3 < b + n:
            return name
    return None


# grid: an interior boundary of the line map (both sides in it) is a grid line, black or grey every 8th
lm = [q for q in range(W * H) if owner(q) == "line map" and q % W not in (0, 8) and owner(q - 1) == "line map"
      and owner(q - W) == "line map" and owner(q + W) == "line map"]
check("a line-map pixel inside", bool(lm))
if lm:
    q = lm[0]
    check("grid line", v.getpixel((ox + (q % W) * S, oy + (q // W) * S + S // 2)) == (0, 0, 0))
# major grid line at column 8 (an interior pixel of the line map there)
maj = [q for q in range(W * H) if q % W == 8 and owner(q) == "line map" and owner(q - 1) == "line map"
       and owner(q - W) == "line map" and owner(q + W) == "line map"]
if maj:
    q = maj[0]
    check("major grid line", v.getpixel((ox + 8 * S, oy + (q // W) * S + S // 2)) == (110, 110, 110))
# outline: the top edge of the line map (pixel above is another region) is the line map's colour
top = [q for q in range(W, W * H) if owner(q) == "line map" and owner(q - W) != "line map"]
check("line-map top edge", bool(top))
if top:
    q = top[0]
    check("outline colour", v.getpixel((ox + (q % W) * S + S // 2, oy + (q // W) * S + 1)) == (255, 80, 255),
          v.getpixel((ox + (q % W) * S + S // 2, oy + (q // W) * S + 1)))
# legend: text below the pixels
legend = [v.getpixel((x, y)) for y in range(oy + H * S + 4, v.size[1]) for x in range(v.size[0])]
check("legend drawn", sum(1 for c in legend if c == (230, 230, 230)) > 200, "no legend text")

# ---- heat-map ---------------------------------------------------------------------------------
open(p("hot.pxasm"), "w").write("""; a loop of 1000, then one PRINT
    PUSH 1000
loop:
    DEC
    DUP
    JNZ loop
    PRINT
    HALT
""")
r = px("run", p("hot.pxasm"), "--heatmap", p("hot.png"))
check("heatmap run", r.returncode == 0 and "heatmap: wrote" in r.stderr and "ran 1000 times" in r.stderr, r.stderr)
px("asm", p("hot.pxasm"), "-o", p("hot.pxi"))
hs = Image.open(p("hot.pxi")).convert("RGB")
HW, HH = hs.size
h = Image.open(p("hot.png")).convert("RGB")
# offsets: PUSH 1000 at 0 (5 bytes), DEC 5, DUP 6, JNZ 7..11, PRINT 12, HALT 13; code at byte 28
centre = lambda q: h.getpixel((ox + (q % HW) * S + S // 2, oy + (q // HW) * S + S // 2))
# pixel 11 = bytes 33..35 = DEC, DUP, JNZ's opcode: all ran 1000 times, the most
check("hottest pixel is the hottest colour", centre(11) == (255, 240, 80), centre(11))
check("never-run pixel (header) is the zero colour", centre(0) == (60, 60, 60), centre(0))
# pixel 13 = bytes 39..41 = JNZ's last operand byte, PRINT, HALT (once): the loop's count wins
check("pixel holding the loop's tail is hottest", centre(13) == (255, 240, 80), centre(13))
# pixel 15 = bytes 45..47: the symbol table, never run
check("symbols pixel is the zero colour", centre(15) == (60, 60, 60), centre(15))


# a program that traps: what ran is painted, then the trap is reported
open(p("trap.pxasm"), "w").write("""; loops 10 times, then divides by zero
    PUSH 10
loop:
    DEC
    DUP
    JNZ loop
    PUSH 1
    SWAP
    DIV
    PRINT
    HALT
""")
r = px("run", p("trap.pxasm"), "--heatmap", p("trap.png"))
check("trap: exit 6", r.returncode == 6, r.returncode)
check("trap: heatmap then the trap", "heatmap: wrote" in r.stderr and "division by zero" in r.stderr.splitlines()[-1],
      r.stderr)
t = Image.open(p("trap.png")).convert("RGB")
tc = lambda q: t.getpixel((ox + (q % HW) * S + S // 2, oy + (q // HW) * S + S // 2))
# DEC/DUP/JNZ bytes 33..39 ran 10 times (the most): hottest; PRINT (28+20=48, pixel 16) never ran
check("trap: loop is hottest", tc(11) == (255, 240, 80), tc(11))
check("trap: after the trap is zero", tc(16) == (60, 60, 60), tc(16))

expect_fail("heatmap to a directory", 3, "run", p("hot.pxasm"), "--heatmap", T, stdout="0\n")

shutil.rmtree(T)
print(f"{passes} passed, {len(fails)} failed")
sys.exit(1 if fails else 0)
