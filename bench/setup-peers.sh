#!/usr/bin/env bash
# Installs the benchmark's peers under target/peers (once) and checks the tools the
# benchmark needs. Run by `just bench`; safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
peers="${CARGO_TARGET_DIR:-target}/peers"
mkdir -p "$peers"

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: \`$1\` is missing: $2" >&2; exit 1; }; }
need python3 "install Python 3"
need /usr/bin/time "apt-get install time (GNU time measures peak RSS)"
python3 -c 'import yaml; assert yaml.__with_libyaml__' 2>/dev/null || {
  echo "bench: PyYAML with libyaml is missing for compare.py and gen.py --c: pip install PyYAML==6.0.3" >&2
  exit 1
}
test -f bench/reference/compare.py || test -n "${STACKDSL_BENCH_SHARED:-}" || {
  echo "bench: bench/reference (the peer workload's gen.py and compare.py) is missing; set STACKDSL_BENCH_SHARED" >&2
  exit 1
}

# jrsonnet: the Rust Jsonnet implementation, pinned, built from crates.io.
JRSONNET_VERSION=0.5.0-pre98
if ! "$peers/bin/jrsonnet" --version 2>/dev/null | grep -q "${JRSONNET_VERSION}"; then
  echo "bench: installing jrsonnet ${JRSONNET_VERSION} into $peers (cargo install, a few minutes, once)" >&2
  cargo install jrsonnet --version "${JRSONNET_VERSION}" --locked --root "$peers"
fi

# helm is not measured: no registry this machine reaches (crates.io, PyPI, npm, Debian)
# ships a helm binary; see BENCHMARKS.md for what was tried.
