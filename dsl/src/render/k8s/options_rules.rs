//! Kubernetes rules of the stack's route API, secret store and GitOps settings: names the
//! objects and references need, what a Gateway can carry (one certificate issuer, at most
//! 64 listeners, gRPC on whole hosts, Gateway API durations), and a repository to sync
//! from.

use crate::diagnostics::ErrorKind;
use crate::model::{GatewayAttach, GatewayImpl, IngressController, RouteApi, Target};
use crate::validate::{Validator, names};

use super::gateway::{custom_tls, gateway_name, tls_hosts, tls_version};

/// Longest duration the Gateway API accepts as whole seconds (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`).
const MAX_SECONDS: u32 = 99_999;

/// Most listeners a Gateway may have; the stack's own uses one for plain HTTP.
const MAX_LISTENERS: usize = 64;

/// Is `name` a DNS-1123 subdomain (the names of most objects)?
fn subdomain_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 253 {
        return Some("must be 1–253 characters");
    }
    name.split('.').find_map(names::dns1123_problem)
}

impl Validator<'_> {
    pub(super) fn kubernetes_option_rules(&mut self) {
        self.route_api_rules();
        self.secret_store_rules();
        self.gitops_rules();
    }

    fn name_rule(&mut self, path: String, what: &str, name: &str) {
        if let Some(problem) = subdomain_problem(name) {
            self.err(
                ErrorKind::InvalidName,
                path,
                format!("{what} `{name}` {problem}"),
                "use a lowercase DNS name such as `public` or `envoy-gateway-system`",
            );
        }
    }

    fn route_api_rules(&mut self) {
        let stack = self.stack;
        let path = format!("{}.kubernetes.routes", stack.name);
        let gw = match &stack.kubernetes.routes {
            RouteApi::Ingress(c) => {
                if let IngressController::Class { class, .. } = c {
                    self.name_rule(path.clone(), "IngressClass", class);
                }
                self.name_rule(path, "controller namespace", c.namespace());
                return;
            }
            RouteApi::Gateway(gw) => gw,
        };
        self.name_rule(path.clone(), "Gateway name", &gateway_name(stack, gw));
        self.name_rule(
            path.clone(),
            "proxy namespace",
            gw.implementation.namespace(),
        );
        match &gw.attach {
            GatewayAttach::Own { class } => {
                self.name_rule(path.clone(), "GatewayClass", class);
                if let Some(section) = &gw.section {
                    self.err(
                        ErrorKind::InvalidValue,
                        path.clone(),
                        format!("listener `{section}` is named for the stack's own Gateway, whose listeners the stack derives (`http`, `https-<host>`)"),
                        "drop `.section(…)`, or attach to an existing Gateway with `Gateway::existing(namespace, name).section(…)`",
                    );
                }
            }
            GatewayAttach::Existing { namespace } => {
                self.name_rule(path.clone(), "Gateway namespace", namespace);
                if let Some(section) = &gw.section {
                    self.name_rule(path.clone(), "listener", section);
                }
            }
        }
        if let GatewayImpl::Portable { namespace, .. } = &gw.implementation
            && *namespace == stack.namespace()
            && stack.kubernetes.hardened
        {
            self.err(
                ErrorKind::Unsupported,
                path.clone(),
                format!("the Gateway's proxies run in the stack's namespace `{namespace}`, where the default-deny NetworkPolicy would cut them off from the services"),
                "run the implementation's proxies in a namespace of their own, or render without derived policies (`k.plain()`)",
            );
        }
        let routes: Vec<_> = self.plan.routes(Target::Kubernetes).collect();
        if routes.is_empty() {
            return;
        }
        let tls = tls_hosts(self.plan);
        if gw.is_own() {
            if tls.len() >= MAX_LISTENERS {
                self.err(
                    ErrorKind::Unsupported,
                    path.clone(),
                    format!(
                        "{} TLS hosts need as many HTTPS listeners, but a Gateway has at most {MAX_LISTENERS} listeners (one is plain HTTP)",
                        tls.len()
                    ),
                    "split the hosts over stacks, or attach to an existing Gateway that serves them with ListenerSets",
                );
            }
            if let Some((_, issuer)) = tls.first() {
                for (svc, r) in &routes {
                    if let Some(other) = r.tls.as_ref().filter(|i| i.0 != *issuer) {
                        self.err(
                            ErrorKind::Unsupported,
                            format!("{}.services[{}].routes[{}]", stack.name, svc.name, r.host),
                            format!("this route's certificate comes from ClusterIssuer `{}`, but the stack's Gateway names one issuer for every listener (`{issuer}`, from the first TLS route)", other.0),
                            "use one ClusterIssuer for every route of the stack",
                        );
                    }
                }
            }
            if custom_tls(stack)
                && !tls.is_empty()
                && matches!(gw.implementation, GatewayImpl::EnvoyGateway { .. })
                && let Some(edge) = &stack.edge
            {
                for p in &edge.tls_protocols {
                    if tls_version(p).is_none() {
                        self.err(
                            ErrorKind::Unsupported,
                            format!("{}.edge", stack.name),
                            format!("TLS protocol `{p}` has no Envoy Gateway version"),
                            "use `TLSv1.2` and `TLSv1.3` (or `TLSv1`, `TLSv1.1`)",
                        );
                    }
                }
            }
        }
        for (svc, r) in &routes {
            let rpath = format!("{}.services[{}].routes[{}]", stack.name, svc.name, r.host);
            if r.is_grpc() && r.path != "/" {
                self.err(
                    ErrorKind::Unsupported,
                    rpath.clone(),
                    format!("gRPC route path `{}`: a GRPCRoute matches gRPC services and methods, not path prefixes", r.path),
                    "route the whole host (`.path(\"/\")`, the default), or give the gRPC service a host of its own",
                );
            }
            let (timeouts, _) = super::gateway::effective(stack, r);
            if let Some(t) = timeouts
                && (t.read > MAX_SECONDS || t.connect > MAX_SECONDS)
            {
                self.err(
                    ErrorKind::InvalidValue,
                    rpath.clone(),
                    format!("a timeout of more than {MAX_SECONDS} s cannot be written as a Gateway API duration"),
                    format!("use at most {MAX_SECONDS} seconds"),
                );
            }
        }
        if let Some(edge) = &stack.edge {
            let headers = edge.headers.len() + usize::from(edge.hsts.is_some());
            if headers > 16 {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{}.edge.headers", stack.name),
                    format!("{headers} response headers (HSTS included), but a Gateway API header filter sets at most 16"),
                    "drop some headers, or set them in the application",
                );
            }
        }
    }

    fn secret_store_rules(&mut self) {
        let stack = self.stack;
        let Some(store) = &stack.kubernetes.secret_store else {
            return;
        };
        let path = format!("{}.kubernetes.secret_store", stack.name);
        self.name_rule(path.clone(), "secret store", &store.name);
        let separator = match &store.remote_key {
            crate::model::RemoteKey::PerKey { separator } => separator.as_str(),
            _ => "",
        };
        for (what, text) in [("prefix", store.prefix.as_str()), ("separator", separator)] {
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.err(
                    ErrorKind::InvalidValue,
                    path.clone(),
                    format!("remote key {what} `{text}` has whitespace or control characters"),
                    "use letters, digits and `/-_.`, e.g. `shop/prod/`",
                );
            }
        }
        if store.refresh.as_secs() == 0 {
            self.err(
                ErrorKind::InvalidValue,
                path,
                "a refresh interval of 0 reads the store once and never again, so rotated values never arrive",
                "refresh every hour (`Window::hours(1)`, the default) or as often as values rotate",
            );
        }
    }

    fn gitops_rules(&mut self) {
        let stack = self.stack;
        let Some(gitops) = &stack.kubernetes.gitops else {
            return;
        };
        let path = format!("{}.kubernetes.gitops", stack.name);
        match stack
            .ci
            .as_ref()
            .and_then(|c| c.repository.as_ref().map(|r| (c, r)))
        {
            None => self.err(
                ErrorKind::InvalidValue,
                path.clone(),
                "GitOps tools sync from the stack's repository, but its CI settings name none",
                "set it: `s.ci(Ci::…(…).repository(\"https://github.com/acme/deploy.git\"))`",
            ),
            Some((ci, repo)) => {
                let scheme = ["https://", "ssh://", "http://"]
                    .iter()
                    .any(|s| repo.starts_with(s) && repo.len() > s.len());
                if !scheme || repo.chars().any(char::is_whitespace) {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{}.ci.repository", stack.name),
                        format!(
                            "repository `{repo}` is not a clone URL Argo CD and Flux both read"
                        ),
                        "use `https://host/owner/repo.git` or `ssh://git@host/owner/repo.git`",
                    );
                }
                if ci.branch.is_empty()
                    || ci
                        .branch
                        .chars()
                        .any(|c| c.is_whitespace() || "~^:?*[\\".contains(c))
                {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{}.ci.branch", stack.name),
                        format!("`{}` is not a Git branch name", ci.branch),
                        "use a branch such as `main`",
                    );
                }
            }
        }
        let dir = &gitops.out_dir;
        if dir.is_empty() || dir.starts_with('/') || dir.split('/').any(|p| p == "..") {
            self.err(
                ErrorKind::InvalidValue,
                path.clone(),
                format!("output folder `{dir}` is not a path inside the repository"),
                "use the folder relative to the repository root, e.g. `out`",
            );
        }
        if let Some(argo) = &gitops.argo_cd {
            self.name_rule(path.clone(), "Argo CD namespace", &argo.namespace);
            if let Some(p) = &argo.project {
                self.name_rule(path.clone(), "Argo CD project", p);
            }
        }
        if let Some(flux) = &gitops.flux {
            self.name_rule(path.clone(), "Flux namespace", &flux.namespace);
            if let Some(s) = &flux.secret {
                self.name_rule(path.clone(), "Flux credentials Secret", s);
            }
            if flux.interval.as_secs() == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    path,
                    "Flux needs an interval above zero",
                    "reconcile every few minutes (`Window::minutes(5)`, the default)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::ErrorKind::{self, *};
    use crate::model::{
        ArgoCd, Ci, Env, Flux, GitOps, Image, IngressController, Port, Route, RouteApi,
        SecretStore, Service, Stack, Target, Window,
    };
    use crate::plan::Plan;

    fn found(s: &Stack) -> Vec<(ErrorKind, String)> {
        super::super::rules::check(&Plan::derive(s))
            .into_iter()
            .map(|e| (e.kind, e.path.to_string()))
            .collect()
    }

    fn k8s() -> Stack {
        let mut s = Stack::new("t", Env::Prod);
        s.targets([Target::Kubernetes]);
        let http = Port::http("http", 80);
        s.add(
            Service::new("api")
                .image(Image::new("a").tag("1"))
                .port(http)
                .expose(Route::host("a.example.com", http)),
        );
        s
    }

    #[test]
    fn the_route_api_names_what_kubernetes_accepts() {
        assert_eq!(found(&k8s()), []);
        let mut s = k8s();
        s.kubernetes(|k| {
            k.routes(RouteApi::ingress(IngressController::class(
                "Traefik_2",
                "traefik",
            )))
        });
        assert_eq!(found(&s), [(InvalidName, "t.kubernetes.routes".to_owned())]);
    }

    #[test]
    fn a_secret_store_is_named_and_refreshed() {
        let mut s = k8s();
        s.kubernetes(|k| {
            k.secret_store(
                SecretStore::cluster("Vault Backend")
                    .prefix("shop prod/")
                    .refresh(Window::secs(0)),
            )
        });
        let path = "t.kubernetes.secret_store".to_owned();
        assert_eq!(
            found(&s),
            [
                (InvalidName, path.clone()),
                (InvalidValue, path.clone()),
                (InvalidValue, path)
            ]
        );
    }

    #[test]
    fn gitops_needs_a_repository_a_branch_and_a_folder_inside_it() {
        let mut s = k8s();
        s.kubernetes(|k| k.gitops(GitOps::flux(Flux::new()).out_dir("../out")));
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "t.kubernetes.gitops".to_owned()),
                (InvalidValue, "t.kubernetes.gitops".to_owned()),
            ]
        );
        s.ci(Ci::go("1.23")
            .repository("https://git.example.com/t.git")
            .branch("my branch"))
            .kubernetes(|k| k.gitops(GitOps::argo_cd(ArgoCd::new().namespace("Argo CD"))));
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "t.ci.branch".to_owned()),
                (InvalidName, "t.kubernetes.gitops".to_owned()),
            ]
        );
    }
}
