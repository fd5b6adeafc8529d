"""Checks every argument and nested block of generated Terraform against the pinned
providers' schemas, read offline from the CDKTF provider packages on npm
(`@cdktf/provider-helm@12.1.2` is hashicorp/helm 3.1.1, `@cdktf/provider-kubernetes@12.1.1`
is hashicorp/kubernetes 2.38.0, `@cdktf/provider-http@10.0.1` is hashicorp/http 3.5.0).
The .tf files are parsed with python-hcl2. `locals` are names the file chooses.

usage: tf_schema.py --schema KIND:TYPE:INDEX_JS ... -- FILE.tf ...
  KIND is provider, resource or data; INDEX_JS the package's lib/<name>/index.js.
Prints one line per problem and exits 1 if there is any.
"""
import re
import sys

import hcl2

ATTR = re.compile(r"^(?P<indent> +)(?P<name>[a-z_0-9]+): \{\n +value: (?P<value>.+),\n +isBlock: (?P<block>true|false),", re.M)
NESTED_FN = re.compile(r"(\w+ToHclTerraform)")

META = {
    "resource": {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"},
    "data": {"count", "for_each", "depends_on", "provider", "lifecycle"},
    "provider": {"alias"},
}
LANGUAGE = {
    "variable": {"type", "description", "default", "sensitive", "nullable", "ephemeral", "validation"},
    "output": {"value", "description", "sensitive", "depends_on", "ephemeral", "precondition"},
    "terraform": {"required_version", "required_providers", "backend", "cloud", "experiments"},
    "validation": {"condition", "error_message"},
}


def attrs_in(body, indent):
    """Attributes declared in a synthesizeHclAttributes/…ToHclTerraform body at `indent`."""
    out = {}
    for m in ATTR.finditer(body):
        if len(m.group("indent")) != indent:
            continue
        fn = NESTED_FN.search(m.group("value"))
        nested = fn.group(1) if fn and not fn.group(1).startswith(("string", "boolean", "number", "hash", "list")) else None
        out[m.group("name")] = nested
    return out


def function_body(js, name):
    start = js.find(f"function {name}(struct)")
    if start < 0:
        return None
    end = js.find("\n}\n", start)
    return js[start:end]


def schema_of(js, body, indent, seen=()):
    schema = {}
    for name, fn in attrs_in(body, indent).items():
        nested = None
        if fn and fn not in seen:
            fbody = function_body(js, fn)
            if fbody is not None:
                nested = schema_of(js, fbody, 8, seen + (fn,))
        schema[name] = nested
    return schema


def load_schema(path):
    js = open(path, encoding="utf-8").read()
    start = js.find("synthesizeHclAttributes() {")
    if start < 0:
        sys.exit(f"{path}: no synthesizeHclAttributes")
    end = js.find("\n    }\n", start)
    return schema_of(js, js[start:end], 12)


def unquote(key):
    return key.strip('"')


problems = []


def check(body, schema, where, allowed=frozenset()):
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if key in allowed:
            continue
        if key not in schema:
            problems.append(f"{where}: unknown argument or block `{key}`")
            continue
        nested = schema[key]
        if nested is None:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                check(item, nested, f"{where}.{key}[{i}]")


def check_language(body, kind, where):
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if key not in LANGUAGE[kind]:
            problems.append(f"{where}: `{key}` is not an argument of a {kind} block")
        if key == "validation":
            for v in value:
                check_language(v, "validation", f"{where}.validation")


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    schemas = {}
    it = iter(args[:sep])
    for flag in it:
        if flag != "--schema":
            sys.exit(f"unexpected argument {flag}")
        kind, typ, path = next(it).split(":", 2)
        schemas[(kind, typ)] = load_schema(path)
    for path in args[sep + 1:]:
        with open(path, encoding="utf-8") as f:
            doc = hcl2.load(f)
        for key, blocks in doc.items():
            if key.startswith("__"):
                continue
            for block in blocks:
                if key in ("resource", "data"):
                    for typ, named in block.items():
                        for name, body in named.items():
                            where = f"{path}: {key}.{unquote(typ)}.{unquote(name)}"
                            schema = schemas.get((key, unquote(typ)))
                            if schema is None:
                                problems.append(f"{where}: no schema for {key} type {unquote(typ)}")
                            else:
                                check(body, schema, where, META[key])
                elif key == "provider":
                    for typ, body in block.items():
                        where = f"{path}: provider.{unquote(typ)}"
                        schema = schemas.get(("provider", unquote(typ)))
                        if schema is None:
                            problems.append(f"{where}: no schema for provider {unquote(typ)}")
                        else:
                            check(body, schema, where, META["provider"])
                elif key in ("variable", "output"):
                    for name, body in block.items():
                        check_language(body, key, f"{path}: {key}.{unquote(name)}")
                elif key == "locals":
                    # Free-form names; their expressions are Terraform's to evaluate.
                    continue
                elif key == "terraform":
                    check_language(block, "terraform", f"{path}: terraform")
                    for req in block.get("required_providers", []):
                        for prov, spec in req.items():
                            if prov.startswith("__"):
                                continue
                            if ("provider", prov) not in schemas:
                                problems.append(f"{path}: required provider `{prov}` has no schema to check against")
                            if set(spec) - {"source", "version", "configuration_aliases"}:
                                problems.append(f"{path}: required_providers.{prov} has unknown keys")
                else:
                    problems.append(f"{path}: unexpected top-level block `{key}`")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
