#!/usr/bin/env python3
# schema_validate.py: 100 seeds x 5 schemas (the architect's action schema among them) sampled
# under the JSON Schema constraint over the real model's vocabulary; every text must end, parse
# and validate with the `jsonschema` package (an implementation independent of pxos).
import json
import os
import subprocess
import sys
import tempfile

import jsonschema

SAMPLE = os.environ.get("LLM_SCHEMA_SAMPLE", "build/tests/llm/llm_schema_sample")
MODEL = os.environ.get("PXOS_MODEL", "models/SmolLM2-135M-Instruct.Q4_1.gguf")
SEEDS = int(os.environ.get("SCHEMA_SEEDS", "100"))

SCHEMAS = {
    "person": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 12},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "email": {"type": ["string", "null"], "pattern": "^[a-z0-9._]{1,8}@[a-z]{1,6}\\.(com|org)$"},
        },
        "required": ["name", "age", "email"],
        "additionalProperties": False,
    },
    "inventory": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "sku": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 99},
                        "price": {"type": "number", "minimum": 0.5, "maximum": 1000},
                    },
                    "required": ["sku", "qty"],
                    "additionalProperties": False,
                },
            },
            "note": {"type": "string", "maxLength": 10},
        },
        "required": ["items"],
        "additionalProperties": False,
    },
    "choice": {
        "anyOf": [
            {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number", "minimum": 0, "maximum": 10}},
             "required": ["kind", "r"], "additionalProperties": False},
            {"type": "object", "properties": {"kind": {"const": "rect"}, "w": {"type": "integer", "minimum": 1, "maximum": 9},
                                               "h": {"type": "integer", "minimum": 1, "maximum": 9}},
             "required": ["kind", "w", "h"], "additionalProperties": False},
            {"enum": ["none", 0, False, None]},
        ]
    },
    "nested": {
        "type": "object",
        "properties": {
            "meta": {"type": "object", "properties": {"ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3}},
                     "required": ["ok"], "additionalProperties": False},
            "level": {"enum": ["low", "mid", "high"]},
        },
        "required": ["meta", "level"],
        "additionalProperties": False,
    },
    "architect": None,  # filled from the tool: the architect's own action schema
}


def main():
    model = MODEL
    tmp = tempfile.mkdtemp()
    if not os.path.exists(model):
        if os.environ.get("PXOS_NO_MODEL") != "1":
            print(f"FAIL: {model} is missing (scripts/setup fetches it; PXOS_NO_MODEL=1 uses a tiny generated vocabulary)")
            return 1
        model = os.path.join(tmp, "tiny.gguf")
        subprocess.run([os.environ["LLM_GEN"], model, "good"], check=True)
    SCHEMAS["architect"] = json.loads(subprocess.run([SAMPLE, "--architect-schema"], check=True, capture_output=True, text=True).stdout)
    failures = 0
    for name, schema in SCHEMAS.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        path = os.path.join(tmp, name + ".json")
        with open(path, "w") as f:
            json.dump(schema, f)
        arg = "architect" if name == "architect" else path
        r = subprocess.run([SAMPLE, model, arg, str(SEEDS), "1500"], capture_output=True, text=True, errors="replace")
        if r.returncode != 0:
            print(f"FAIL {name}: tool exit {r.returncode}: {r.stderr.strip()}")
            failures += 1
            continue
        lines = r.stdout.splitlines()
        if len(lines) != SEEDS:
            print(f"FAIL {name}: {len(lines)} texts for {SEEDS} seeds")
            failures += 1
        kinds = set()
        for line in lines:
            rec = json.loads(line)
            where = f"{name} seed {rec['seed']}"
            if not rec["ended"]:
                print(f"FAIL {where}: did not end: {rec['text'][:200]!r}")
                failures += 1
                continue
            try:
                value = json.loads(rec["text"])
            except ValueError as e:
                print(f"FAIL {where}: not JSON ({e}): {rec['text'][:200]!r}")
                failures += 1
                continue
            errors = list(validator.iter_errors(value))
            if errors:
                print(f"FAIL {where}: {errors[0].message}: {rec['text'][:200]!r}")
                failures += 1
            kinds.add(type(value).__name__ if not isinstance(value, dict) else value.get("kind", value.get("action", "object")))
        print(f"{name}: {len(lines)} texts valid ({r.stderr.strip()}); shapes seen: {sorted(map(str, kinds))[:8]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
