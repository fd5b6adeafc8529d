//! Files for the stacks repository itself (`stack-<env> init-ci`): a workflow that fails a
//! pull request whose `out/` is not what the stacks produce, writing the diff into the job
//! summary, and reviews the change (`diff --base`, risks first) in the job summary and in
//! one pull-request comment it keeps up to date; and a `.gitattributes` that marks
//! `out/**` as generated so review tools collapse it.
//!
//! The review job runs on `pull_request` (never `pull_request_target`: no secrets, and the
//! pull request's code runs with the token GitHub gives that event). It checks out the
//! merge commit GitHub prepares with its two parents (`fetch-depth: 2`), so `HEAD^1` is the
//! base branch the pull request merges into. Only this job may write pull-request comments
//! (`pull-requests: write`); for a fork's pull request GitHub makes that token read-only,
//! so the comment step is skipped there and the review stays in the job summary.

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
    review: Job,
}

#[derive(Serialize)]
struct Job {
    name: &'static str,
    #[serde(rename = "runs-on")]
    runs_on: &'static str,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<JobPermissions>,
    #[serde(rename = "timeout-minutes")]
    timeout_minutes: u32,
    steps: Vec<Step>,
}

#[derive(Serialize)]
struct JobPermissions {
    contents: &'static str,
    #[serde(rename = "pull-requests")]
    pull_requests: &'static str,
}

#[derive(Serialize, Default)]
struct Step {
    name: &'static str,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    with: Option<With>,
    #[serde(skip_serializing_if = "Option::is_none")]
    env: Option<StepEnv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
}

#[derive(Serialize)]
struct With {
    #[serde(rename = "fetch-depth", skip_serializing_if = "Option::is_none")]
    fetch_depth: Option<u32>,
    #[serde(rename = "persist-credentials")]
    persist_credentials: bool,
}

#[derive(Serialize)]
struct StepEnv {
    #[serde(rename = "GH_TOKEN")]
    gh_token: &'static str,
    #[serde(rename = "PR_NUMBER")]
    pr_number: &'static str,
}

/// Only for a pull request from a branch of this repository: a fork's gets a read-only
/// token, which cannot comment.
pub(crate) const SAME_REPOSITORY: &str =
    "github.event.pull_request.head.repo.full_name == github.repository";

/// The review of a pull request: `command` (a `cargo run …` of the CLI, before its `--`)
/// with `args`, compared with `HEAD^1`, written to `review.md` and the job summary.
pub(crate) fn review_script(command: &str, args: &str) -> String {
    format!(
        "{command} -- {args}diff --base HEAD^1 --format md > review.md\n\
         cat review.md >> \"$GITHUB_STEP_SUMMARY\"\n"
    )
}

/// The shell script that posts `review.md` (which starts with `marker`) on the pull request
/// `$PR_NUMBER` as one comment, updated on every run rather than added again: it looks for
/// the bot's comment starting with the marker (`gh api`, token in `$GH_TOKEN`). A token
/// that may not comment (a fork's or Dependabot's pull request, where GitHub hands out a
/// read-only token) gives a warning, never a failed job: the review is in the job summary.
pub(crate) fn comment_script(marker: &str) -> String {
    format!(
        "comments=\"repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments\"\n\
         if ! ids=$(gh api --paginate \"$comments\" --jq '.[] | select(.user.login == \"github-actions[bot]\" and (.body | startswith(\"{marker}\"))) | .id'); then\n  \
         echo \"::warning::cannot read this pull request's comments; the review is in the job summary\"\n  \
         exit 0\n\
         fi\n\
         id=$(printf '%s\\n' \"$ids\" | head -n 1)\n\
         if [ -n \"$id\" ]; then\n  \
         gh api --method PATCH \"repos/$GITHUB_REPOSITORY/issues/comments/$id\" -F body=@review.md > /dev/null \\\n    \
         || echo \"::warning::cannot update the review comment (read-only token); the review is in the job summary\"\n\
         else\n  \
         gh api --method POST \"$comments\" -F body=@review.md > /dev/null \\\n    \
         || echo \"::warning::cannot comment (read-only token); the review is in the job summary\"\n\
         fi\n"
    )
}

fn checkout(fetch_depth: Option<u32>) -> Step {
    Step {
        name: "Check out",
        uses: Some("actions/checkout@v7"),
        with: Some(With {
            fetch_depth,
            persist_credentials: false,
        }),
        ..Step::default()
    }
}

fn toolchain() -> Step {
    Step {
        name: "Rust toolchain",
        run: Some("rustup toolchain install stable --profile minimal\n".into()),
        ..Step::default()
    }
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
                condition: None,
                permissions: None,
                steps: vec![
                    checkout(None),
                    toolchain(),
                    Step {
                        name: "Synthesize every environment with --check",
                        run: Some(check.into()),
                        ..Step::default()
                    },
                ],
            },
            review: Job {
                name: "What this change does",
                runs_on: "ubuntu-24.04",
                timeout_minutes: 30,
                condition: Some("github.event_name == 'pull_request'"),
                permissions: Some(JobPermissions {
                    contents: "read",
                    pull_requests: "write",
                }),
                steps: vec![
                    checkout(Some(2)),
                    toolchain(),
                    Step {
                        name: "Review every stack against the base branch",
                        run: Some(review_script("cargo run --quiet --bin stack-prod", "")),
                        ..Step::default()
                    },
                    Step {
                        name: "Comment on the pull request",
                        condition: Some(SAME_REPOSITORY),
                        env: Some(StepEnv {
                            gh_token: "${{ github.token }}",
                            pr_number: "${{ github.event.pull_request.number }}",
                        }),
                        run: Some(comment_script(&crate::review::comment_marker(&[]))),
                        ..Step::default()
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
