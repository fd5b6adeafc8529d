"""Writes the JSON Schema of a Prometheus Operator custom resource (ServiceMonitor,
PrometheusRule, ...) from the pydantic models of PyPI `cloudcoil-models-prometheus-operator`.

usage: crd_schema.py KIND OUT.json

The models accept unknown fields; every object schema is closed here
(`additionalProperties: false`), so a misspelt field fails validation as it would in a
strict apiserver. Go-style inline case-insensitive patterns are rewritten without the flag
(see `case_insensitive`)."""
import json
import sys

import cloudcoil.models.prometheus_operator.v1 as v1


def case_insensitive(pattern):
    """Go (RE2) patterns may turn on case-insensitivity inline, `^(?i)(abort|warn)?$`,
    which ECMAScript and Python regexes reject mid-pattern. The same language, written
    without the flag: every letter outside a character class becomes `[xX]`."""
    head, _, rest = pattern.partition("(?i)")
    out, in_class, escaped = [], False, False
    for c in rest:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            out.append(c)
            escaped = True
        elif c == "[":
            in_class = True
            out.append(c)
        elif c == "]":
            in_class = False
            out.append(c)
        elif c.isalpha() and not in_class:
            out.append(f"[{c.lower()}{c.upper()}]")
        else:
            out.append(c)
    return head + "".join(out)


def close(node):
    if isinstance(node, dict):
        if "(?i)" in str(node.get("pattern", "")):
            node["pattern"] = case_insensitive(node["pattern"])
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            close(value)
    elif isinstance(node, list):
        for value in node:
            close(value)


kind, out = sys.argv[1], sys.argv[2]
schema = getattr(v1, kind).model_json_schema(by_alias=True)
close(schema)
with open(out, "w", encoding="utf-8") as f:
    json.dump(schema, f, indent=1, sort_keys=True)
