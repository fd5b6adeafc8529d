"""Writes the JSON Schema of a Prometheus Operator custom resource (ServiceMonitor,
PrometheusRule, ...) from the pydantic models of PyPI `cloudcoil-models-prometheus-operator`.

usage: crd_schema.py KIND OUT.json

The models accept unknown fields; every object schema is closed here
(`additionalProperties: false`), so a misspelt field fails validation as it would in a
strict apiserver."""
import json
import sys

import cloudcoil.models.prometheus_operator.v1 as v1


def close(node):
    if isinstance(node, dict):
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
