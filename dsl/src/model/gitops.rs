//! GitOps: an Argo CD `Application` and/or a Flux `GitRepository` + `Kustomization` per
//! environment, pointing at that environment's `k8s/` folder in the stack's repository
//! (URL and branch from [`Ci`](super::Ci)). They are applied to the cluster that runs
//! Argo CD or Flux (often a management cluster), not to the stack's namespace, so they are
//! rendered into a folder of their own, `out/<stack>/<env>/gitops/`.

use super::Window;

/// Which GitOps tools deploy the stack, and how. Set it with
/// [`KubernetesOptions::gitops`](super::KubernetesOptions::gitops).
///
/// ```
/// use stackdsl::prelude::*;
/// let g = GitOps::argo_cd(ArgoCd::new()).and_flux(Flux::new());
/// assert!(g.argo_cd.is_some() && g.flux.is_some());
/// assert_eq!(g.out_dir, "out");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitOps {
    /// An Argo CD `Application` (with an `AppProject` of its own unless one is named).
    pub argo_cd: Option<ArgoCd>,
    /// A Flux `GitRepository` and `Kustomization`.
    pub flux: Option<Flux>,
    /// The output folder inside the repository (default `out`, the CLI's default): the
    /// synced path is `<out_dir>/<stack>/<env>/k8s`.
    pub out_dir: String,
}

impl GitOps {
    /// Deploy with Argo CD.
    pub fn argo_cd(argo_cd: ArgoCd) -> Self {
        GitOps {
            argo_cd: Some(argo_cd),
            flux: None,
            out_dir: "out".into(),
        }
    }

    /// Deploy with Flux.
    pub fn flux(flux: Flux) -> Self {
        GitOps {
            argo_cd: None,
            flux: Some(flux),
            out_dir: "out".into(),
        }
    }

    /// Also render Flux's objects (for a team moving from one tool to the other, or
    /// clusters run by different teams).
    pub fn and_flux(mut self, flux: Flux) -> Self {
        self.flux = Some(flux);
        self
    }

    /// Also render Argo CD's objects.
    pub fn and_argo_cd(mut self, argo_cd: ArgoCd) -> Self {
        self.argo_cd = Some(argo_cd);
        self
    }

    /// The repository folder the CLI writes to (`--out`), relative to the repository root.
    pub fn out_dir(mut self, dir: impl Into<String>) -> Self {
        self.out_dir = dir.into();
        self
    }
}

/// Argo CD settings.
///
/// Staging and dev sync automatically (prune, self-heal, retries with backoff); prod is
/// synced by a person (no automated sync): Argo CD follows a Git branch, not a range of
/// release tags, so the manual sync is prod's release gate, as the `v*` tag is the
/// pipeline's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArgoCd {
    /// Namespace Argo CD runs in (default `argocd`).
    pub namespace: String,
    /// The `AppProject` (`None`: render `<stack>-<env>`, restricted to the stack's
    /// repository and namespace).
    pub project: Option<String>,
    /// The destination cluster's API server (default `https://kubernetes.default.svc`,
    /// the cluster Argo CD runs in).
    pub server: String,
}

impl ArgoCd {
    /// Argo CD in `argocd`, deploying to its own cluster, with a project per environment.
    pub fn new() -> Self {
        ArgoCd {
            namespace: "argocd".into(),
            project: None,
            server: "https://kubernetes.default.svc".into(),
        }
    }

    /// The namespace Argo CD runs in.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Use an existing `AppProject` instead of rendering one.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Deploy to the cluster whose API server is `server` (registered in Argo CD).
    pub fn server(mut self, server: impl Into<String>) -> Self {
        self.server = server.into();
        self
    }
}

impl Default for ArgoCd {
    fn default() -> Self {
        ArgoCd::new()
    }
}

/// Flux settings.
///
/// Staging and dev follow the CI branch; prod follows the newest `v*` release tag (a
/// SemVer range), as the pipeline's production deploy does. Every `Kustomization` prunes,
/// waits for its objects to become ready and times out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Flux {
    /// Namespace Flux runs in (default `flux-system`).
    pub namespace: String,
    /// Secret (in Flux's namespace) with the repository's credentials (`None`: public).
    pub secret: Option<String>,
    /// How often the repository is fetched and the folder reconciled (default 5 minutes).
    pub interval: Window,
}

impl Flux {
    /// Flux in `flux-system`, a public repository, every 5 minutes.
    pub fn new() -> Self {
        Flux {
            namespace: "flux-system".into(),
            secret: None,
            interval: Window::minutes(5),
        }
    }

    /// The namespace Flux runs in.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The Secret holding the repository's credentials.
    pub fn secret(mut self, name: impl Into<String>) -> Self {
        self.secret = Some(name.into());
        self
    }

    /// How often to fetch and reconcile.
    pub fn interval(mut self, every: Window) -> Self {
        self.interval = every;
        self
    }
}

impl Default for Flux {
    fn default() -> Self {
        Flux::new()
    }
}
