#!/usr/bin/env python3
# tokenizer_peer.py: pxos's tokenizer against HF `tokenizers` built from the SAME vocab and merges,
# read here out of the real SmolLM2 GGUF by a minimal reader, with SmolLM2's pre-tokenizer chain.
"""Compares token ids on a corpus of hard strings (fixed seed); prints "N strings, 0 mismatches".

The model must be present (scripts/setup fetches it): a missing model is a failure unless
PXOS_NO_MODEL=1 says explicitly that this machine has none.
"""
import mmap
import os
import random
import struct
import subprocess
import sys
import tempfile

SRC = os.environ.get("PXOS_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(SRC, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
PXOS = os.environ.get("PXOS")
CONTROL, USER_DEFINED = 3, 4


def read_gguf_metadata(path):
    """The GGUF v2/v3 key/value section (tensor infos and data are not needed)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if m[:4] != b"GGUF":
            raise SystemExit(f"FAIL: {path}: not a GGUF file")
        version, _n_tensors, n_kv = struct.unpack_from("<IQQ", m, 4)
        if version not in (2, 3):
            raise SystemExit(f"FAIL: {path}: GGUF version {version}")
        pos = 24
        scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

        def string(p):
            (n,) = struct.unpack_from("<Q", m, p)
            return m[p + 8:p + 8 + n].decode("utf-8", errors="surrogateescape"), p + 8 + n

        def value(t, p):
            if t == 8:
                return string(p)
            if t == 9:
                et, n = struct.unpack_from("<IQ", m, p)
                p += 12
                out = []
                if et in scalar:  # one unpack for a numeric array
                    fmt = "<%d%s" % (n, scalar[et])
                    return list(struct.unpack_from(fmt, m, p)), p + struct.calcsize(fmt)
                for _ in range(n):
                    v, p = value(et, p)
                    out.append(v)
                return out, p
            fmt = "<" + scalar[t]
            return struct.unpack_from(fmt, m, p)[0], p + struct.calcsize(fmt)

        kv = {}
        for _ in range(n_kv):
            key, pos = string(pos)
            (t,) = struct.unpack_from("<I", m, pos)
            kv[key], pos = value(t, pos + 4)
        return kv


def hf_tokenizer(kv):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    tokens = kv["tokenizer.ggml.tokens"]
    types = kv.get("tokenizer.ggml.token_type", [1] * len(tokens))
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    merges = [tuple(m.split(" ")) for m in kv["tokenizer.ggml.merges"]]
    # SmolLM2's tokenizer.json: BPE without unk/dropout/byte fallback, no normalizer,
    # Sequence[Digits(individual_digits), ByteLevel(add_prefix_space=false, use_regex=true)].
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty in (CONTROL, USER_DEFINED)])
    return tok


def corpus():
    out = [
        "", " ", "  ", "\n", "\n\n", "\t", " \t\n", "Hello world", "Hello, world!", " leading", "trailing ",
        "  two leading", "two trailing  ", "   ", "a  b", "a   b", "a\n\nb", "a \n b", "a\t\tb", "x\r\ny",
        "\n\n\n  indented", "end\n", "   \n   \n", "word\u00a0nbsp", "em\u2003space", "ideo\u3000space",
        "line\u2028sep", "zero\u200bwidth", "bom\ufeffmark", "nel\x85char",
        "fs\x1c gs\x1e us\x1f a\x1fb", "mongolian\u180evs", "ogham\u1680space", "narrow\u202fnbsp",
        # contractions, both cases and partial ones
        "it's", "IT'S", "don't", "DON'T", "they're", "THEY'RE", "we've", "WE'VE", "I'm", "I'M",
        "we'll", "WE'LL", "he'd", "HE'D", "'s", "'", "''", "'x", "rock'n'roll", "o'clock", "'re'", "' s",
        "‘quoted’ ’s", "l'été",
        # digits
        "0", "42", "1234567890", "3.14159265358979", "1,000,000", "-17", "+1e-10", "0x1F", "v1.2.3",
        "2024-06-01T12:34:56Z", "12345678901234567890123456789012345678901234567890", " 9", "a1b2c3",
        "١٢٣ arabic-indic", "५६ devanagari", "Ⅻ roman", "½ ¾ ² ³", "①②③", "𝟘𝟙𝟚",
        # code
        "def f(x):\n    return x ** 2\n", "int main() { return 0; }", "for (i = 0; i < n; ++i) {}",
        "if x == y and not z:\n\tpass", "#include <stdio.h>\n", "a->b::c", "x += 1;  // comment",
        "<html><body class=\"x\">hi</body></html>", "SELECT * FROM t WHERE a='b';", "$ ls -la | grep foo",
        "{\"key\": [1, 2, 3], \"v\": null}", "    four spaces", "\t\ttwo tabs", "λx.x", "!!!???...---",
        "____init____", "@decorator", "path/to/file.txt", "https://example.org/a?b=c&d=e#f",
        # unicode: CJK, combining marks, RTL, scripts
        "你好，世界！", "日本語のテキスト", "한국어 텍스트", "Россия и Україна", "Ελληνικά", "مرحبا بالعالم",
        "שלום עולם", "עברית123", "नमस्ते दुनिया", "ภาษาไทย", "e\u0301 combining", "a\u0308\u0304\u0323",
        "Z\u0351\u0360\u0368\u0346a\u0352\u0301l\u0315go", "Café naïve résumé", "ß ẞ ſ", "ﬁ ligature",
        "\u202eRTL override\u202c", "mixed עברית and English", "Ａｂｃ fullwidth", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𓀀 hieroglyph",
        # emoji, ZWJ sequences, flags, skin tones, variation selectors
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵", "❤️", "❤\ufe0e", "🧑🏿‍🚀", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        "a😀b", " 😀 ", "😀😀😀",
        # special tokens inside text
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>\n",
        "x<|im_start|>y", "<|im_start|><|im_end|>", "<|im_start|><|im_start|>", "<|im_start", "im_end|>",
        "< |im_start|>", "<|IM_START|>", "<repo_name>x<file_sep>y", "<jupyter_code>print(1)",
        " <|im_end|> ", "<<|im_start|>>", "<|endoftext|><|endoftext|>", "text <|endoftext|> more",
        # bytes the vocabulary has no token for (dropped, as HF does without an unk token)
        "a\x04b", "!\x04!", "\x06\x13\x14\x16\x1d", "..\x1d..", "\x00nul\x01", "\x1b[31mred\x1b[0m", "\x7f",
    ]
    rng = random.Random(14)
    pools = [
        " \t\n\r", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "'\"`.,;:!?-_()[]{}<>/\\|@#$%^&*+=~",
        "éèêëàâäôöûüçñßøåæœ", "你好世界中文字符日本語", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "אבגדהוזחטיכלמנסעפצקרשת",
        "\u0300\u0301\u0302\u0308\u0327", "😀😃😄😁🚀🌍🎉👍🏽❤️", "\u200d\ufe0f\u200b\u00a0\u3000", "①½²٣",
    ]
    words = ["the", " the", "The", "'s", "'re", "'LL", "<|im_start|>", "<|im_end|>", "  ", "\n", "\n\n", "123",
             " 42", "don't", "ХОРОШО", "🙂", "def", "    ", "\t"]
    for _ in range(160):
        n = rng.randint(1, 40)
        s = []
        for _ in range(n):
            if rng.random() < 0.3:
                s.append(rng.choice(words))
            else:
                s.append(rng.choice(rng.choice(pools)))
        out.append("".join(s))
    for _ in range(40):  # random code points from the whole range (no surrogates)
        s = []
        for _ in range(rng.randint(1, 12)):
            c = rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2fff), rng.randint(0x3000, 0xd7ff),
                            rng.randint(0xe000, 0xffff), rng.randint(0x10000, 0x10ffff)])
            s.append(chr(c))
        out.append("".join(s))
    out.append("word " * 2000)        # long inputs
    out.append("a" * 5000)
    out.append(" " * 3000 + "x")
    out.append("1" * 3000)
    out.append("!?" * 2000)
    return out


def run_pxos(args, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as f:
        for t in texts:
            f.write(t.encode("utf-8", errors="surrogatepass").hex() + "\n")
        path = f.name
    try:
        r = subprocess.run([PXOS, "llm", "tokenize", MODEL, "--hex-lines", path] + args, capture_output=True, timeout=300)
    finally:
        os.unlink(path)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: pxos llm tokenize {' '.join(args)}: exit {r.returncode}: {r.stderr.decode(errors='replace')[:400]}")
    lines = r.stdout.decode().split("\n")[:-1]
    if len(lines) != len(texts):
        raise SystemExit(f"FAIL: pxos printed {len(lines)} lines for {len(texts)} texts")
    return [[int(x) for x in line.split()] for line in lines]


def compare(name, texts, ours, theirs):
    bad = [(t, a, b) for t, a, b in zip(texts, ours, theirs) if a != b]
    print(f"{name}: {len(texts)} strings, {len(bad)} mismatches")
    for t, a, b in bad[:5]:
        print(f"  text {t[:80]!r}\n    pxos {a[:40]}\n    hf   {b[:40]}")
    return len(bad)


def main():
    if not PXOS:
        raise SystemExit("FAIL: set PXOS to the pxos binary")
    if not os.path.isfile(MODEL):
        if os.environ.get("PXOS_NO_MODEL") == "1":
            print(f"tokenizer peer: SKIPPED, PXOS_NO_MODEL=1 and no {MODEL}")
            return 0
        print(f"FAIL: {MODEL} is missing (scripts/setup fetches it; PXOS_NO_MODEL=1 skips this test explicitly)")
        return 1
    kv = read_gguf_metadata(MODEL)
    if kv.get("tokenizer.ggml.pre") != "smollm":
        print(f"FAIL: pre-tokenizer {kv.get('tokenizer.ggml.pre')!r}, expected 'smollm'")
        return 1
    hf = hf_tokenizer(kv)
    texts = corpus()
    failures = 0
    # HF's default: special tokens in the text are matched (pxos: parse_special).
    failures += compare("special tokens parsed", texts, run_pxos([], texts),
                        [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)])
    hf.encode_special_tokens = True
    failures += compare("special tokens as text", texts, run_pxos(["--no-parse-special"], texts),
                        [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)])
    hf.encode_special_tokens = False
    # Round trip through `pxos llm detokenize` for a few strings (the unit and fuzz tests do the rest).
    for t in ["Hello, world! 1234", "👨‍👩‍👧‍👦 日本語 e\u0301", "<|im_start|>user\nhi<|im_end|>\n", "  x\n\n\ty  "]:
        ids = hf.encode(t, add_special_tokens=False).ids
        r = subprocess.run([PXOS, "llm", "detokenize", MODEL] + [str(i) for i in ids], capture_output=True, timeout=60)
        if r.returncode != 0 or r.stdout != t.encode():
            print(f"FAIL: detokenize {t!r}: exit {r.returncode}, got {r.stdout[:80]!r}")
            failures += 1
    # The chat template rendered by Jinja (when jinja2 is installed) against `tokenize --chat`.
    try:
        import jinja2
    except ImportError:
        jinja2 = None
        print("chat template: jinja2 not installed, not compared")
    if jinja2 is not None:
        tmpl = jinja2.Environment().from_string(kv["tokenizer.chat_template"])
        users = ["Hi", "What is 2+2?", "multi\nline\n", "", "<|im_end|> injected", "日本語"]
        rendered = [tmpl.render(messages=[{"role": "user", "content": u}], add_generation_prompt=True) for u in users]
        failures += compare("chat template", users, run_pxos(["--chat"], users),
                            [e.ids for e in hf.encode_batch(rendered, add_special_tokens=False)])
    print("tokenizer peer: ok" if failures == 0 else f"tokenizer peer: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
