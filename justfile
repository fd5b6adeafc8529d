# stackdsl tasks. `cargo install just` or `pip install rust-just` to get `just`.

envs := "dev staging prod"

# Synthesize every stack for every environment into out/.
synth:
    for env in {{envs}}; do cargo run --quiet --bin stack-$env; done

# Fail (with a diff) when out/ is not what the stacks produce.
check:
    for env in {{envs}}; do cargo run --quiet --bin stack-$env -- --check; done

# Show what synthesis would change in out/, without failing or writing.
diff:
    for env in {{envs}}; do cargo run --quiet --bin stack-$env -- --check || true; done

# Run the generated files through the external validators (docker-compose, PyYAML,
# yamllint, kubernetes-validate, kubectl kustomize, checkov).
validate:
    cargo test -p stackdsl-tests --test it -- external:: kubernetes::

# Semantic diff of prod's Kubernetes objects against staging's.
env-diff against="staging":
    cargo run --quiet --bin stack-prod -- diff --against {{against}}

# Every test, external validators included.
test:
    cargo test --workspace

# The reliability tests at length (optimised build): 2000 random valid and 2000 invalid
# stacks, 25 through the external validators, 10 crash kills. Minutes, not seconds.
test-long:
    PROPTEST_CASES=2000 STACKDSL_EXTERNAL_CASES=25 STACKDSL_CRASH_RUNS=10 cargo test --release -p stackdsl-tests --test it -- properties:: crash::

# Mutation testing (cargo-mutants, pinned) of a module that derives behaviour: k8s, network,
# compose, validate or emit; `just mutants k8s 0/10` tests a 1-in-10 sample (add `--iterate`
# for a fresh sample after new tests). Hours on 2 cores,
# so not part of CI; TESTING.md records the results.
mutants module shard="" *args:
    bash tests/mutants/run.sh {{module}} {{shard}} {{args}}

# Everything CI runs.
ci:
    bash .ci/run

# Synthesis benchmark (release build): the peer workload for N = 1 … 10 000, checked with
# compare.py, timed against jrsonnet and Python + libyaml (installed under target/peers).
bench *args:
    bash bench/setup-peers.sh
    cargo run --release --quiet -p stackdsl-bench -- run {{args}}
