//! The workflow file's typed structure (only the keys we write, in GitHub's order) and the
//! small step builders every job uses.

use super::*;

#[derive(Serialize)]
pub(super) struct Workflow {
    pub(super) name: String,
    pub(super) on: On,
    pub(super) permissions: IndexMap<&'static str, &'static str>,
    pub(super) concurrency: Concurrency,
    pub(super) jobs: IndexMap<String, Job>,
}

#[derive(Serialize)]
pub(super) struct On {
    pub(super) push: Push,
    pub(super) pull_request: Branches,
}

#[derive(Serialize)]
pub(super) struct Push {
    pub(super) branches: Vec<String>,
    pub(super) tags: Vec<&'static str>,
}

#[derive(Serialize)]
pub(super) struct Branches {
    pub(super) branches: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct Concurrency {
    pub(super) group: String,
    #[serde(rename = "cancel-in-progress")]
    pub(super) cancel_in_progress: Flag,
}

/// A boolean, or an expression evaluating to one.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Flag {
    Bool(bool),
    Expr(&'static str),
}

#[derive(Serialize, Default)]
pub(super) struct Job {
    pub(super) name: String,
    #[serde(rename = "runs-on")]
    pub(super) runs_on: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) needs: Vec<String>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub(super) condition: Option<String>,
    pub(super) permissions: IndexMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) environment: Option<Environment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) concurrency: Option<Concurrency>,
    #[serde(rename = "timeout-minutes")]
    pub(super) timeout_minutes: u32,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub(super) services: IndexMap<String, Container>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub(super) env: IndexMap<String, String>,
    pub(super) steps: Vec<Step>,
}

#[derive(Serialize)]
pub(super) struct Environment {
    pub(super) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) url: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Container {
    pub(super) image: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub(super) env: IndexMap<String, String>,
    pub(super) ports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) options: Option<String>,
}

#[derive(Serialize, Default)]
pub(super) struct Step {
    pub(super) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<String>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub(super) condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) uses: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub(super) with: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub(super) env: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) run: Option<String>,
}

/// Versions of the actions the pipeline uses (major tags), unless the stack pins a SHA.
/// The newest major of each (all on the node24 runtime; actionlint rejects node20 ones).
pub(super) const ACTIONS: &[(&str, &str)] = &[
    ("actions/checkout", "v7"),
    ("actions/setup-node", "v7"),
    ("pnpm/action-setup", "v4"),
    ("astral-sh/setup-uv", "v7"),
    ("actions/setup-go", "v7"),
    ("docker/setup-buildx-action", "v4"),
    ("docker/login-action", "v4"),
    ("docker/metadata-action", "v6"),
    ("docker/build-push-action", "v7"),
    ("hashicorp/setup-terraform", "v4"),
];

/// `owner/action@ref` for an action: the stack's SHA pin, or the major version.
pub(super) fn uses(plan: &Plan<'_>, action: &str) -> String {
    let stack = plan.stack();
    if let Some((sha, _)) = stack.ci.as_ref().and_then(|c| c.pins.get(action)) {
        return format!("{action}@{sha}");
    }
    let version = ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or("v1", |(_, v)| v);
    format!("{action}@{version}")
}

pub(super) fn action(
    plan: &Plan<'_>,
    name: &str,
    action_name: &str,
    with: &[(&str, String)],
) -> Step {
    Step {
        name: name.to_owned(),
        uses: Some(uses(plan, action_name)),
        with: with
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        ..Step::default()
    }
}

pub(super) fn run(name: &str, script: impl Into<String>) -> Step {
    Step {
        name: name.to_owned(),
        run: Some(script.into()),
        ..Step::default()
    }
}

pub(super) fn checkout(plan: &Plan<'_>) -> Step {
    action(
        plan,
        "Check out",
        "actions/checkout",
        &[("persist-credentials", "false".into())],
    )
}

pub(super) fn read_only() -> IndexMap<&'static str, &'static str> {
    IndexMap::from([("contents", "read")])
}
