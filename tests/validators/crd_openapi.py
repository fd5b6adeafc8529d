"""Validates custom resources against the openAPIV3Schema of their CustomResourceDefinitions
(the operators' own CRD files, vendored under tests/validators/crds/; see its README).

usage: crd_openapi.py CRD.yaml ... -- DOC.yaml ...

Every document of every DOC file must be of a kind and version one of the CRDs serves (a
document no CRD knows is an error, so a run cannot pass by checking nothing). Each CRD's
structural schema is turned into JSON Schema the way the API server reads it:

- an object schema without `x-kubernetes-preserve-unknown-fields` and without
  `additionalProperties` is closed: the API server prunes unknown fields, and kubectl's
  default (strict) field validation rejects them;
- `x-kubernetes-int-or-string` takes an integer or a string; `nullable` also null;
- `apiVersion` and `kind` must be the CRD's, and `metadata` is a name, a namespace, labels
  and annotations.

CEL rules (`x-kubernetes-validations`) are not evaluated here: the API server does that.
Prints one line per problem (and how many documents were checked per kind); exits 1 if any.
"""
import sys

import jsonschema
import yaml

METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def convert(node):
    """The JSON Schema of one structural-schema node."""
    if isinstance(node, list):
        return [convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "format", "example", "externalDocs"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: convert(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, (dict, list)):
            out[key] = convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [convert(v) for v in value]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out = {"anyOf": [{"type": "integer"}, {"type": "string"}], **{k: v for k, v in out.items() if k != "anyOf"}}
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if out.get("type") == "object" and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def schemas(crd_files):
    """(apiVersion, kind) → JSON Schema, for every served version of every CRD."""
    out = {}
    for path in crd_files:
        with open(path, encoding="utf-8") as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                kind = spec["names"]["kind"]
                for version in spec["versions"]:
                    if not version.get("served", True):
                        continue
                    api_version = f"{spec['group']}/{version['name']}"
                    schema = convert(version["schema"]["openAPIV3Schema"])
                    props = schema.setdefault("properties", {})
                    props["apiVersion"] = {"const": api_version}
                    props["kind"] = {"const": kind}
                    props["metadata"] = METADATA
                    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
                    out[(api_version, kind)] = schema
    return out


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    known = schemas(args[:sep])
    problems, checked = [], {}
    for path in args[sep + 1:]:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for i, doc in enumerate(docs):
            key = (doc.get("apiVersion"), doc.get("kind"))
            where = f"{path}[{i}] {key[1]}/{(doc.get('metadata') or {}).get('name')}"
            schema = known.get(key)
            if schema is None:
                problems.append(f"{where}: no vendored CRD serves {key[0]} {key[1]}")
                continue
            checked[key[1]] = checked.get(key[1], 0) + 1
            validator = jsonschema.Draft7Validator(schema)
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                at = ".".join(str(p) for p in e.absolute_path) or "(root)"
                problems.append(f"{where}: {at}: {e.message}")
    for kind, n in sorted(checked.items()):
        print(f"checked {n} {kind}")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
