//! `.env` beside `compose.yaml`: the note atop the file and `.env.example`, which list
//! the secrets' variables and the deploy-time parameters Compose requires.

use crate::model::Target;
use crate::plan::Plan;
use crate::render::hash_header;

/// The line atop `compose.yaml` that says where its `${…}` values come from.
pub(super) fn note(plan: &Plan<'_>) -> String {
    match (
        plan.secrets(Target::Compose).is_empty(),
        plan.params(Target::Compose).is_empty(),
    ) {
        (true, true) => String::new(),
        (false, true) => "# Secrets come from `.env` beside this file (never committed): copy `.env.example` and fill it in.\n".to_owned(),
        (secrets, false) => format!(
            "# {} come from `.env` beside this file (never committed): copy `.env.example` and fill it in.\n",
            if secrets { "Parameters" } else { "Secrets and parameters" }
        ),
    }
}

/// `.env.example`: every variable `compose.yaml` requires, secrets first, then parameters,
/// each with what it is and who uses it; then, commented out, the optional variables
/// services take from `.env` when set; `None` when there are none.
pub(super) fn example(plan: &Plan<'_>) -> Option<String> {
    let secrets = plan.secrets(Target::Compose);
    let params = plan.params(Target::Compose);
    let passed: Vec<_> = plan
        .services(Target::Compose)
        .filter(|s| !s.compose.pass_env.is_empty())
        .collect();
    if secrets.is_empty() && params.is_empty() && passed.is_empty() {
        return None;
    }
    let mut out = hash_header(plan.stack());
    out.push_str(
        "#\n# Variables compose.yaml requires. Copy this file to `.env` in this folder and set\n\
         # every value; `.env` is git-ignored and must never be committed. Values are spliced\n\
         # into URLs as-is, so use URL-safe characters.\n",
    );
    for u in secrets {
        let s = u.secret;
        out.push('\n');
        if let Some(d) = s.description() {
            out.push_str(&format!("# {d}\n"));
        }
        let users: Vec<&str> = u.users.iter().map(|r| r.service().name.as_str()).collect();
        out.push_str(&format!(
            "# Kubernetes: key `{}` of Secret `{}`. Used by: {}.\n{}=\n",
            s.key(),
            s.name(),
            users.join(", "),
            s.var()
        ));
    }
    for u in params {
        let users: Vec<&str> = u.users.iter().map(|s| s.name.as_str()).collect();
        let what = u.param.description().map_or_else(
            || "A folder on the Docker host".to_owned(),
            |d| d.trim_end_matches('.').to_owned(),
        );
        out.push_str(&format!(
            "\n# {what}. Used by: {}.\n{}=\n",
            users.join(", "),
            u.param.name()
        ));
    }
    // Optional: commented out, so a copy of the file sets none of them.
    for svc in passed {
        out.push_str(&format!(
            "\n# Optional: passed to {} when set here (the app's own default otherwise).\n",
            svc.name
        ));
        for name in &svc.compose.pass_env {
            out.push_str(&format!("# {name}=\n"));
        }
    }
    Some(out)
}
