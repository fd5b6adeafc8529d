//! A container's hardening in Compose, from the plan's [`Hardening`] (the same derivation
//! Kubernetes renders its security contexts from): the user, read-only root, capabilities,
//! `no-new-privileges`, the seccomp profile and scratch space for the paths the image
//! writes.

use serde_saphyr::DoubleQuoted;

use super::ComposeService;
use crate::model::{Mount, Security};
use crate::plan::{Hardening, Plan};

/// Hardens `out`, a container with `sec` mounting `mounts`.
pub(super) fn harden(plan: &Plan<'_>, out: &mut ComposeService, sec: &Security, mounts: &[Mount]) {
    apply(out, &plan.hardening(sec, mounts));
}

fn apply(out: &mut ComposeService, h: &Hardening) {
    out.user = h.user.map(|u| {
        DoubleQuoted(match h.group {
            Some(g) => format!("{u}:{g}"),
            None => u.to_string(),
        })
    });
    out.read_only = h.read_only_root_fs;
    out.cap_drop = if h.drop_all_capabilities {
        vec!["ALL"]
    } else {
        Vec::new()
    };
    out.cap_add = h.add_capabilities.clone();
    out.security_opt.clear();
    if h.no_new_privileges {
        out.security_opt.push("no-new-privileges:true");
    }
    // Docker applies its default profile unless told otherwise.
    if !h.seccomp_runtime_default {
        out.security_opt.push("seccomp:unconfined");
    }
    for path in &h.scratch {
        if !out.tmpfs.contains(path) {
            out.tmpfs.push(path.clone());
        }
    }
}
