//! Files for the stacks repository itself (`stack-<env> init-ci`): a workflow that fails a
//! pull request whose `out/` is not what the stacks produce, writing the diff into the job
//! summary, and a `.gitattributes` that marks `out/**` as generated so review tools
//! collapse it.

use serde::Serialize;

use crate::render::{Document, MARKER, yaml};

/// The marker header of repository files (not tied to one stack).
fn header(comment: &str) -> String {
    format!(
        "{comment} {MARKER} (`cargo run --bin stack-prod -- init-ci`). Do not edit.\n\
         {comment} Regenerate: cargo run --bin stack-prod -- init-ci\n"
    )
}

#[derive(Serialize)]
struct Workflow {
    name: &'static str,
    on: On,
    permissions: Permissions,
    concurrency: Concurrency,
    jobs: Jobs,
}

#[derive(Serialize)]
struct On {
    pull_request: Empty,
    push: Branches,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Branches {
    branches: Vec<&'static str>,
}

#[derive(Serialize)]
struct Permissions {
    contents: &'static str,
}

#[derive(Serialize)]
struct Concurrency {
    group: &'static str,
    #[serde(rename = "cancel-in-progress")]
    cancel_in_progress: bool,
}

#[derive(Serialize)]
struct Jobs {
    #[serde(rename = "out-is-current")]
    out_is_current: Job,
}

#[derive(Serialize)]
struct Job {
    name: &'static str,
    #[serde(rename = "runs-on")]
    runs_on: &'static str,
    #[serde(rename = "timeout-minutes")]
    timeout_minutes: u32,
    steps: Vec<Step>,
}

#[derive(Serialize)]
struct Step {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    with: Option<With>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
}

#[derive(Serialize)]
struct With {
    #[serde(rename = "persist-credentials")]
    persist_credentials: bool,
}

/// The repository's generated files: `.github/workflows/stackdsl.yml` and `.gitattributes`
/// (paths relative to the repository root).
pub fn render() -> Vec<Document> {
    let check = "status=0\n\
                 for env in dev staging prod; do\n  \
                 if ! cargo run --quiet --bin \"stack-$env\" -- --check --color never > \"check-$env.txt\" 2>&1; then\n    \
                 status=1\n    \
                 {\n      \
                 echo \"## \\`stack-$env\\`: out/ is not what the stacks produce\"\n      \
                 echo\n      \
                 echo 'Run the command at the end locally and commit the result.'\n      \
                 echo\n      \
                 echo '```diff'\n      \
                 cat \"check-$env.txt\"\n      \
                 echo '```'\n    \
                 } >> \"$GITHUB_STEP_SUMMARY\"\n    \
                 cat \"check-$env.txt\"\n  \
                 fi\n\
                 done\n\
                 exit \"$status\"\n";
    let workflow = Workflow {
        name: "stackdsl",
        on: On {
            pull_request: Empty {},
            push: Branches {
                branches: vec!["main"],
            },
        },
        permissions: Permissions { contents: "read" },
        concurrency: Concurrency {
            group: "stackdsl-${{ github.ref }}",
            cancel_in_progress: true,
        },
        jobs: Jobs {
            out_is_current: Job {
                name: "out/ is what the stacks produce",
                runs_on: "ubuntu-24.04",
                timeout_minutes: 30,
                steps: vec![
                    Step {
                        name: "Check out",
                        uses: Some("actions/checkout@v7"),
                        with: Some(With {
                            persist_credentials: false,
                        }),
                        run: None,
                    },
                    Step {
                        name: "Rust toolchain",
                        uses: None,
                        with: None,
                        run: Some("rustup toolchain install stable --profile minimal\n".into()),
                    },
                    Step {
                        name: "Synthesize every environment with --check",
                        uses: None,
                        with: None,
                        run: Some(check.into()),
                    },
                ],
            },
        },
    };
    let mut text = header("#");
    yaml::write(&mut text, &workflow);
    let attributes = format!(
        "{}# Generated output: collapsed in pull-request views, reviewed through the stack sources.\nout/** linguist-generated=true\n",
        header("#")
    );
    vec![
        Document::new(".github/workflows/stackdsl.yml", text),
        Document::new(".gitattributes", attributes),
    ]
}
