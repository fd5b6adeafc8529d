//! What each platform cannot run, as validation errors with paths (never a silent
//! omission): the stack-wide PaaS rules, and per platform the services it deploys.

use super::{Problem, env_value, fly, http_port, memory_mib, problem};
use crate::diagnostics::{Error, ErrorKind, Errors};
use crate::model::{
    AppProtocol, BackingKind, Env, Platform, Port, ProbeAction, Service, Target, VolumeSource,
};
use crate::plan::Plan;
use crate::validate::names;

/// The rules of every PaaS target at once: PaaS files come from prod only, and the
/// variables set in the platform have valid names.
pub(crate) fn stack_rules(plan: &Plan<'_>, platforms: &[Platform]) -> Errors {
    let stack = plan.stack();
    let mut errors = Errors::default();
    if stack.env != Env::Prod {
        let names: Vec<&str> = platforms.iter().map(|p| p.name()).collect();
        errors.push(Error::new(
            ErrorKind::Unsupported,
            format!("{}.targets", stack.name),
            format!(
                "PaaS targets ({}) are rendered from prod only, but this is {}",
                names.join(", "),
                stack.env
            ),
            format!(
                "add them to the prod targets only: `out/{}/paas/` has no environment folder, so exactly one environment's run owns it",
                stack.name
            ),
        ));
    }
    for pv in &stack.paas.set_in_platform {
        if let Some(problem) = names::env_name_problem(&pv.name) {
            errors.push(Error::new(
                ErrorKind::InvalidName,
                format!("{}.paas.set_in_platform[{}]", stack.name, pv.name),
                format!("variable `{}` {problem}", pv.name),
                "use the name of an environment variable the services read",
            ));
        }
    }
    errors
}

/// Every reason the stack cannot be rendered for `platform`, with paths into the stack.
pub(super) fn problems(plan: &Plan<'_>, platform: Platform) -> Errors {
    let stack = plan.stack();
    let mut errors = Errors::default();
    let target = Target::Paas(platform);
    let mut err = |path: String, p: Problem| {
        errors.push(Error::new(ErrorKind::Unsupported, path, p.message, p.hint));
    };
    let name = platform.name();
    let file = platform.file();
    let candidates: Vec<&Service> = stack
        .services
        .iter()
        .filter(|s| s.renders_on(target))
        .collect();
    if !platform.multi_service() {
        match &stack.paas.app {
            Some(app)
                if app.stack() != stack.name
                    || !candidates.iter().any(|s| s.name == app.name()) =>
            {
                err(
                    format!("{}.paas.app", stack.name),
                    problem(
                        format!(
                            "{name} is to deploy service `{}`, which does not render there",
                            app.name()
                        ),
                        format!(
                            "pick a service of this stack that renders for {target}, or let it render there (`only_on`)"
                        ),
                    ),
                )
            }
            None if candidates.len() != 1 => {
                let names: Vec<&str> = candidates.iter().map(|s| s.name.as_str()).collect();
                err(
                    format!("{}.paas.app", stack.name),
                    problem(
                        format!(
                            "{name}'s `{file}` describes one app, but {} services render there ({})",
                            candidates.len(),
                            names.join(", ")
                        ),
                        "name the one it deploys with `s.paas(|p| p.app(&handle))`, or keep the others off it with `.only_on(…)`",
                    ),
                );
            }
            _ => {}
        }
    } else if candidates.is_empty() {
        err(
            stack.name.clone(),
            problem(
                format!("no service renders for {target}"),
                "drop the target, or let a service render there",
            ),
        );
    }
    let deployed = plan.paas_services(platform);
    let svc_path = |svc: &Service| format!("{}.services[{}]", stack.name, svc.name);
    for svc in &deployed {
        let path = svc_path(svc);
        if let Some(b) = &svc.backing {
            match (&b.kind, platform) {
                (BackingKind::Postgres { .. } | BackingKind::Redis { .. }, Platform::Render) => {}
                (kind, Platform::Render) => err(
                    path,
                    problem(
                        format!(
                            "Render has no managed {} for catalog service `{}`",
                            kind.product(),
                            svc.name
                        ),
                        "keep it off Render (`only_on`) and declare its consumers' URLs with `set_in_platform`",
                    ),
                ),
                (kind, _) => err(
                    path,
                    problem(
                        format!(
                            "{name} deploys app `{}`, a catalog {} (a database, not an app)",
                            svc.name,
                            kind.product()
                        ),
                        "deploy an app service there (`s.paas(|p| p.app(&api))`)",
                    ),
                ),
            }
            continue;
        }
        service_problems(plan, platform, svc, &deployed, &path, &mut err);
    }
    match platform {
        Platform::Vercel if stack.paas.vercel.function.is_none() => err(
            format!("{}.paas.vercel.function", stack.name),
            problem(
                "Vercel runs the app as a function built from the repository, but no function source is declared",
                "name it with `s.paas(|p| p.vercel(|v| v.function(\"api/index.ts\")))`",
            ),
        ),
        Platform::Vercel => {
            if let Some(d) = stack.paas.vercel.max_duration
                && !(1..=900).contains(&d)
            {
                err(
                    format!("{}.paas.vercel.max_duration", stack.name),
                    problem(
                        format!("maxDuration {d} s is outside Vercel's 1–900 s"),
                        "use 1 to 900 seconds",
                    ),
                );
            }
        }
        Platform::Serverless if stack.paas.serverless.handler.is_none() => err(
            format!("{}.paas.serverless.handler", stack.name),
            problem(
                "the Serverless Framework runs the app as a Lambda function, but no handler is declared",
                "name it with `s.paas(|p| p.serverless(|f| f.handler(\"dist/lambda-handler.handler\")))`",
            ),
        ),
        Platform::Serverless if !(1..=900).contains(&stack.paas.serverless.timeout) => err(
            format!("{}.paas.serverless.timeout", stack.name),
            problem(
                format!(
                    "timeout {} s is outside Lambda's 1–900 s",
                    stack.paas.serverless.timeout
                ),
                "use 1 to 900 seconds",
            ),
        ),
        _ => {}
    }
    errors
}

fn service_problems(
    plan: &Plan<'_>,
    platform: Platform,
    svc: &Service,
    deployed: &[&Service],
    path: &str,
    err: &mut impl FnMut(String, Problem),
) {
    let name = platform.name();
    if let Some(c) = svc.containers().next() {
        let slot = if svc.sidecars.is_empty() {
            "init_containers"
        } else {
            "sidecars"
        };
        err(
            format!("{path}.{slot}[{}]", c.name),
            problem(
                format!(
                    "{name} runs one container per app, but service `{}` has init containers or sidecars",
                    svc.name
                ),
                "keep the service off this platform (`.not_on([Target::Paas(…)])`), or run the container's work in the app",
            ),
        );
    }
    if let Some(c) = &svc.cluster {
        err(
            format!("{path}.cluster"),
            problem(
                format!(
                    "{name} cannot run service `{}`: it is a cluster of {} members with stable identities that find each other through seeds and gossip on port `{}`, and {}",
                    svc.name,
                    svc.replicas,
                    c.port.name,
                    if platform.functions() {
                        "functions are stateless, short-lived and unaddressable"
                    } else {
                        "its instances have neither stable identities nor per-member seeds"
                    }
                ),
                "run the cluster on Kubernetes or Compose (`.only_on(…)`) and give the PaaS app its address with `set_in_platform`",
            ),
        );
    }
    // Platforms run the image with their own runtime limits and no host to share.
    let runtime = [
        (svc.shm_size.is_some(), "shm_size", "a shared-memory size"),
        (!svc.ulimits.is_empty(), "ulimits", "ulimits"),
        (!svc.devices.is_empty(), "devices", "host devices"),
    ];
    for (set, field, what) in runtime {
        if set {
            err(
                format!("{path}.{field}"),
                problem(
                    format!("{name} cannot give service `{}` {what}", svc.name),
                    "keep the service off this platform (`.not_on([Target::Paas(…)])`), or drop the setting",
                ),
            );
        }
    }
    for m in &svc.mounts {
        let mpath = format!("{path}.mounts[{}]", m.path);
        match &m.source {
            VolumeSource::Persistent { name: vol, .. } => {
                if platform.functions() {
                    err(
                        mpath,
                        problem(
                            format!(
                                "{name} functions have no persistent storage, but service `{}` mounts volume `{vol}` at {}",
                                svc.name, m.path
                            ),
                            "move the state to a database or object store, or deploy the service where volumes exist (Fly.io, Render, Railway)",
                        ),
                    );
                } else if svc.replicas > 1 || svc.autoscale.is_some() {
                    err(
                        mpath,
                        problem(
                            format!(
                                "{name} attaches volume `{vol}` to one instance, but service `{}` runs {} instances (or autoscales)",
                                svc.name, svc.replicas
                            ),
                            "run one instance, or move the state to a backing service",
                        ),
                    );
                }
            }
            VolumeSource::File(f) => err(
                mpath,
                problem(
                    format!(
                        "{name} cannot mount generated file `{}` at {}",
                        f.name, m.path
                    ),
                    "bake the file into the image, or keep the service off the PaaS (`only_on`)",
                ),
            ),
            VolumeSource::Bind { host_path } => err(
                mpath,
                problem(
                    format!("{name} has no host directory `{host_path}` to bind-mount"),
                    "bind mounts are for development; bake the content into the image",
                ),
            ),
            VolumeSource::HostDir(p) => err(
                mpath,
                problem(
                    format!(
                        "{name} has no Docker host whose folder `${}` could be mounted",
                        p.name()
                    ),
                    "keep the data in a persistent volume (`Mount::persistent`), or keep the service off the PaaS (`not_on`)",
                ),
            ),
            VolumeSource::Scratch => {}
        }
    }
    let persistent = svc
        .mounts
        .iter()
        .filter(|m| matches!(m.source, VolumeSource::Persistent { .. }))
        .count();
    if persistent > 1 && !platform.functions() {
        err(
            format!("{path}.mounts"),
            problem(
                format!(
                    "{name} attaches one volume per instance, but service `{}` mounts {persistent}",
                    svc.name
                ),
                "keep one persistent mount",
            ),
        );
    }
    let non_http: Vec<&Port> = svc
        .ports
        .iter()
        .filter(|p| p.app != AppProtocol::Http)
        .collect();
    match platform {
        Platform::Fly | Platform::Vercel | Platform::Serverless => {
            if let Some(p) = non_http.first() {
                err(
                    format!("{path}.ports[{}]", p.name),
                    problem(
                        format!(
                            "{name} routes HTTP only here, but service `{}` listens on {:?} port `{}` ({})",
                            svc.name, p.app, p.name, p.number
                        ),
                        "serve the protocol over HTTP, or deploy the service on Kubernetes or Compose",
                    ),
                );
            }
            if platform.functions() && http_port(svc).is_none() {
                err(
                    path.to_owned(),
                    problem(
                        format!(
                            "{name} serves HTTP requests, but service `{}` has no HTTP port",
                            svc.name
                        ),
                        "declare the HTTP port the app serves (`.port(Port::http(\"http\", 3000))`)",
                    ),
                );
            }
        }
        Platform::Render => {
            if let Some(p) = svc.ports.iter().find(|p| p.app == AppProtocol::Udp) {
                err(
                    format!("{path}.ports[{}]", p.name),
                    problem(
                        format!(
                            "Render's private network carries TCP only, but service `{}` listens on UDP port `{}`",
                            svc.name, p.name
                        ),
                        "use TCP, or deploy the service elsewhere",
                    ),
                );
            }
        }
        Platform::Railway => {}
    }
    if platform.functions() {
        if svc.command.is_some() || svc.args.is_some() {
            err(
                format!("{path}.command"),
                problem(
                    format!(
                        "{name} invokes the function's handler; service `{}`'s command and arguments have no place there",
                        svc.name
                    ),
                    "drop the command for this platform's app, or build the app so its handler needs none",
                ),
            );
        }
        match memory_mib(svc) {
            Some(m) if (128..=10240).contains(&m) => {}
            Some(m) => err(
                format!("{path}.resources"),
                problem(
                    format!(
                        "{name} gives a function 128–10240 MiB, but service `{}` asks for {m} MiB",
                        svc.name
                    ),
                    "set a memory limit in that range",
                ),
            ),
            None => err(
                format!("{path}.resources"),
                problem(
                    format!(
                        "{name} sizes the function from the memory limit, but service `{}` has none",
                        svc.name
                    ),
                    "set `.resources(…)` with a memory limit",
                ),
            ),
        }
    } else if let Some(p) = &svc.probes.readiness
        && !matches!(p.action, ProbeAction::HttpGet { .. })
    {
        err(
            format!("{path}.probes.readiness"),
            problem(
                format!(
                    "{name} checks health over HTTP, but service `{}`'s readiness probe is not an HTTP GET",
                    svc.name
                ),
                "probe an HTTP path (`Probe::http_get(\"/ready\", http)`), or drop the readiness probe",
            ),
        );
    } else if let Some(p) = &svc.probes.readiness
        && !p.headers.is_empty()
    {
        err(
            format!("{path}.probes.readiness.headers"),
            problem(
                format!(
                    "{name}'s health check sends no request headers, but service `{}`'s readiness probe needs {}",
                    svc.name,
                    p.headers
                        .iter()
                        .map(|(n, _)| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "serve the health path without the header, or keep the service off this platform",
            ),
        );
    }
    if platform == Platform::Fly {
        fly::vm_problems(plan, svc, path, err);
    }
    for d in &svc.depends_on {
        if !deployed.iter().any(|s| s.name == d.name()) {
            err(
                format!("{path}.depends_on[{}]", d.name()),
                problem(
                    format!(
                        "service `{}` depends on `{}`, which {name} does not run",
                        svc.name,
                        d.name()
                    ),
                    "drop the dependency, or deploy both on a platform that runs both",
                ),
            );
        }
    }
    for var in &svc.env {
        if let Err(p) = env_value(plan, platform, deployed, var) {
            err(format!("{path}.env[{}]", var.name), p);
        }
    }
}
