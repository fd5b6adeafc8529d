//! The one-shot `<service>-volumes` that hands a service's named volumes and shared
//! scratch volumes to its user before anything mounts them (see
//! [`VolumeInit`](crate::plan::VolumeInit)), and the note in `compose.yaml` that says so.

use super::{ComposeService, member_volume, repo_path};
use crate::model::{Restart, Service, VolumeSource};
use crate::plan::{Plan, VolumeInit};

/// Where the one-shot mounts its volumes.
const ROOT: &str = "/volumes";

/// The one-shot of `init`, for `svc`: every volume mounted under `/volumes/<name>` (each
/// member's, for a cluster), `chown <uid>:<gid>` of each mount point, never restarted.
pub(super) fn service(plan: &Plan<'_>, svc: &Service, init: &VolumeInit<'_>) -> ComposeService {
    let mut out = ComposeService {
        image: Some(init.image.to_string()),
        restart: Restart::Never.compose(),
        ..ComposeService::default()
    };
    let mut targets: Vec<String> = Vec::new();
    let mut mount = |out: &mut ComposeService, source: String, name: &str| {
        let target = format!("{ROOT}/{}", name.trim_start_matches("./"));
        out.volumes.push(format!("{source}:{target}"));
        targets.push(target);
    };
    for m in &init.volumes {
        match &m.source {
            VolumeSource::Persistent { name, .. } if svc.cluster.is_some() => {
                for member in plan.members(svc) {
                    let volume = member_volume(name, &member);
                    mount(&mut out, volume.clone(), &volume);
                }
            }
            VolumeSource::Persistent { name, .. } => mount(&mut out, name.clone(), name),
            // Host folders are the developer's or operator's: never chowned (see `note`).
            VolumeSource::Bind { .. }
            | VolumeSource::HostDir(_)
            | VolumeSource::Scratch
            | VolumeSource::File(_) => {}
        }
    }
    for path in &init.scratch {
        if let Some(volume) = super::containers::shared_scratch(svc, path) {
            mount(&mut out, volume.clone(), &volume);
        }
    }
    let (uid, gid) = init.owner;
    let mut argv = vec!["chown".to_owned(), format!("{uid}:{gid}")];
    argv.extend(targets);
    out.entrypoint = Some(argv);
    super::security::harden(plan, &mut out, &init.security, &[]);
    out
}

/// The lines `compose.yaml` opens with about who owns the volumes: one per service whose
/// volumes a one-shot hands over, one per service that writes to host folders (whose owner
/// the user sets), and one per service whose image hands its volumes over itself.
pub(super) fn note(plan: &Plan<'_>) -> String {
    let mut out = String::new();
    for svc in plan.services(crate::model::Target::Compose) {
        if let Some(init) = plan.volume_init(svc) {
            let (uid, gid) = init.owner;
            out.push_str(&format!(
                "# `{}` hands the volumes of `{}` to {uid}:{gid} (Docker creates them root-owned) before it starts.\n",
                init.name, svc.name
            ));
        }
        if let Some(((uid, gid), folders)) = plan.host_folders(svc) {
            let list: Vec<String> = folders
                .iter()
                .map(|m| match &m.source {
                    VolumeSource::Bind { host_path } => format!("`{}`", repo_path(host_path)),
                    VolumeSource::HostDir(p) => format!("`${{{}}}`", p.name()),
                    _ => format!("`{}`", m.path),
                })
                .collect();
            out.push_str(&format!(
                "# `{}` writes to the host folder(s) {} as {uid}:{gid}: create them writable by that user (nothing here changes the owner of your files).\n",
                svc.name,
                list.join(", ")
            ));
        }
        if plan.volume_init(svc).is_none()
            && let Some((uid, gid)) = svc.security.drops_to.filter(|_| {
                svc.mounts.iter().any(|m| {
                    matches!(
                        m.source,
                        VolumeSource::Persistent { .. } | VolumeSource::Bind { .. }
                    )
                })
            })
        {
            out.push_str(&format!(
                "# `{}` starts as root: its image's entrypoint hands its volumes to {uid}:{gid} and steps down to that user.\n",
                svc.name
            ));
        }
    }
    out
}
