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
    cargo test -p stackdsl-tests --test external --test kubernetes

# Semantic diff of prod's Kubernetes objects against staging's.
env-diff against="staging":
    cargo run --quiet --bin stack-prod -- diff --against {{against}}

# Every test, external validators included.
test:
    cargo test --workspace

# Everything CI runs.
ci:
    bash .ci/run
