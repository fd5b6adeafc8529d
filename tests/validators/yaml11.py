"""Reads YAML files with PyYAML (a YAML 1.1 reader, like kubectl and Compose) and prints
one JSON object: path -> list of documents. Values PyYAML turns into non-JSON types
(dates, timestamps) are printed as their repr, so they never compare equal to strings."""
import json
import sys

import yaml

out = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        out[path] = list(yaml.safe_load_all(f))
json.dump(out, sys.stdout, default=lambda v: "<%s %r>" % (type(v).__name__, v))
