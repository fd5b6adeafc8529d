#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the modules that derive behaviour: each module is
# mutated and run against the tests that guard it — unit tests beside the code and the
# integration areas that check derived behaviour from the model. Tests that compare the
# committed out/ are deliberately left out: a mutant they alone catch would ship after a
# regeneration. Hours on 2 cores, so not part of .ci/run; see TESTING.md for the results.
#
#   tests/mutants/run.sh MODULE [SHARD [CARGO-MUTANTS ARGS…]]   e.g.  tests/mutants/run.sh k8s 0/10
#
# `tests/mutants/run.sh compose 0/8 --iterate` skips every mutant earlier runs into that
# output folder caught and shards the rest: a fresh sample, almost disjoint from the last
# one, measured against the newer tests (the previous results move to mutants.out.old).
#
# MODULE: k8s | compose | validate | emit | network (render/k8s/network.rs alone).
# SHARD (k/n) mutates every n-th mutant starting at k, for a sample of a large module.
# Results land in target/mutants/<MODULE>[-<k>of<n>]/mutants.out (caught.txt, missed.txt, …).
set -euo pipefail
cd "$(dirname "$0")/../.."

module=${1:?usage: tests/mutants/run.sh k8s|compose|validate|emit|network [k/n]}
shard=${2:-}
shift $(( $# < 2 ? $# : 2 ))

# Integration areas (tests/tests/it/<area>.rs) that check behaviour without reading out/.
derived="semantics:: properties:: hostile validation:: authoring::"
# Areas that check what both Compose and Kubernetes derive from one declaration.
both="compose_parity:: security:: secrets:: monitoring::"
case "$module" in
  k8s)      files=(-f 'dsl/src/render/k8s/**')
            filters="render::k8s plan:: $derived $both kubernetes:: gateway:: pods:: hatch:: backups:: cluster:: probes:: migrations:: operators:: gitops::" ;;
  network)  files=(-f dsl/src/render/k8s/network.rs)
            filters="render::k8s plan:: $derived kubernetes:: gateway:: pods:: backups:: cluster::" ;;
  compose)  files=(-f dsl/src/render/compose.rs -f 'dsl/src/render/compose/**')
            filters="render::compose plan:: $derived $both probes:: pods:: hatch:: migrations:: cluster:: edge::" ;;
  validate) files=(-f 'dsl/src/validate/**')
            filters="validate:: plan:: $derived $both literal_secrets:: leaks:: catalog:: migrations:: probes:: pods:: hatch:: cluster:: gateway:: backups:: edge:: paas:: gitops:: operators::" ;;
  # crash::'s kill tests are left out: they take two minutes a mutant and, with fewer
  # kills, sometimes prove nothing on an unmutated tree, which cargo-mutants would count
  # as a catch. Its quick tests (leftover temp files and folders) stay.
  emit)     files=(-f 'dsl/src/emit/**')
            filters="emit:: file_safety:: hostile:: cli:: properties:: crash::temp_files crash::new_folders ci::init_ci" ;;
  *) echo "unknown module $module" >&2; exit 2 ;;
esac

name=$module
args=()
if [ -n "$shard" ]; then
  name="$module-${shard/\//of}"
  args+=(--shard "$shard" --sharding round-robin)
fi
# --in-place edits dsl/src; a run killed hard can leave a mutant behind. Start clean so that
# `git diff -- dsl/src` shows such a leftover, and `git checkout -- dsl/src` removes it.
if ! git diff --quiet -- dsl/src; then
  echo "dsl/src has uncommitted changes: commit or stash them first (mutants edit it in place)" >&2
  exit 2
fi
want="cargo-mutants 27.1.0"
if [ "$(cargo mutants --version 2>/dev/null)" != "$want" ]; then
  echo "installing $want (pinned: outcomes and mutant lists differ between versions)" >&2
  cargo install --locked cargo-mutants --version "${want#cargo-mutants }"
fi
# cargo-nextest runs each test in its own process, two at a time here: emit's areas take 14 s
# a mutant instead of 43 s under `cargo test`, where every test shares one process.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest 0.9.143 (runs the tests of each mutant)" >&2
  cargo install --locked cargo-nextest --version 0.9.143
fi
mkdir -p "target/mutants/$name"
# Depth for mutants: a mutant that breaks a property fails within the first few cases, and
# a surviving one runs them all, so 64 cases (256 in .ci/run) keep a mutant near half a
# minute. External validators are not what these tests are about (0 cases). A failure is
# neither shrunk nor saved into tests/ (proptest-regressions). Set them to override.
export PROPTEST_CASES=${PROPTEST_CASES:-64} STACKDSL_EXTERNAL_CASES=${STACKDSL_EXTERNAL_CASES:-0}
export PROPTEST_MAX_SHRINK_ITERS=${PROPTEST_MAX_SHRINK_ITERS:-0}
export PROPTEST_DISABLE_FAILURE_PERSISTENCE=1
# --in-place: mutate this checkout (its warm target/), restored after each mutant.
# shellcheck disable=SC2086
exec cargo mutants --in-place --baseline skip --timeout 300 --build-timeout 600 \
  --test-tool nextest --output "target/mutants/$name" "${files[@]}" "${args[@]}" "$@" \
  --test-package stackdsl --test-package stackdsl-tests \
  -- --lib --test it $filters
