"""Reads YAML files with PyYAML (a YAML 1.1 reader, like kubectl and Compose) and prints
one JSON object: path -> list of documents. Values PyYAML turns into non-JSON types
(dates, timestamps) are printed as their repr, so they never compare equal to strings.

Parsing uses libyaml (the YAML 1.1 reference parser) when PyYAML was built with it, else
PyYAML's own parser; either way PyYAML's YAML 1.1 resolver decides what is a bool, number,
null or date.

With `--serve`, reads one JSON list of paths per line on stdin and answers each with one
line of JSON (the same object), so a test can ask many times without restarting Python."""
import json
import sys

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read(paths):
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            out[path] = list(yaml.load_all(f, Loader=LOADER))
    return out


def dump(value, stream):
    json.dump(value, stream, default=lambda v: "<%s %r>" % (type(v).__name__, v))


if sys.argv[1:] == ["--serve"]:
    for line in sys.stdin:
        try:
            answer = {"ok": read(json.loads(line))}
        except Exception as e:  # reported to the test, which fails on it
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        dump(answer, sys.stdout)
        sys.stdout.write("\n")
        sys.stdout.flush()
else:
    dump(read(sys.argv[1:]), sys.stdout)
