//! How a stack's code is tested, built and deployed by CI (GitHub Actions).

use indexmap::IndexMap;

/// Node package manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PackageManager {
    /// npm (`npm ci`).
    Npm,
    /// pnpm (`pnpm install --frozen-lockfile`).
    Pnpm,
}

/// The language preset of the test job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Language {
    /// Node.js: install, build, lint, test.
    Node {
        /// Node major version.
        version: String,
        /// npm or pnpm.
        package_manager: PackageManager,
    },
    /// Python with uv: `uv sync`, ruff, mypy, pytest.
    Python {
        /// Python version.
        version: String,
        /// Package folder mypy checks (e.g. `app`).
        package: String,
    },
    /// Go: vet, test, and an optional generator check (e.g. `potter-gen check …`).
    Go {
        /// Go version.
        version: String,
        /// A command that fails when generated code is out of date.
        generate_check: Option<String>,
    },
}

/// CI settings of a stack: the test preset, optional action pins, and the repository that
/// holds the stack and its `out/` (what GitOps tools sync from).
///
/// ```
/// use stackdsl::prelude::*;
/// let ci = Ci::node("20", PackageManager::Pnpm)
///     .pin("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
///     .repository("https://github.com/acme/shop-deploy.git");
/// assert_eq!(ci.pins.len(), 1);
/// assert_eq!(ci.branch, "main");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ci {
    /// The test job's language preset.
    pub language: Language,
    /// Actions pinned to a full commit SHA: action → (sha, version comment).
    pub pins: IndexMap<String, (String, String)>,
    /// Minutes a job may run.
    pub timeout_minutes: u32,
    /// Clone URL of the repository holding the stack and its `out/` (GitOps sources
    /// read it); `None` until set.
    pub repository: Option<String>,
    /// The integration branch: the pipeline tests pull requests against it and deploys
    /// staging from it; GitOps tools follow it (default `main`).
    pub branch: String,
}

impl Ci {
    fn with(language: Language) -> Self {
        Ci {
            language,
            pins: IndexMap::new(),
            timeout_minutes: 30,
            repository: None,
            branch: "main".into(),
        }
    }

    /// A Node.js project.
    pub fn node(version: impl Into<String>, package_manager: PackageManager) -> Self {
        Ci::with(Language::Node {
            version: version.into(),
            package_manager,
        })
    }

    /// A Python project managed with uv; `package` is what mypy checks.
    pub fn python(version: impl Into<String>, package: impl Into<String>) -> Self {
        Ci::with(Language::Python {
            version: version.into(),
            package: package.into(),
        })
    }

    /// A Go module.
    pub fn go(version: impl Into<String>) -> Self {
        Ci::with(Language::Go {
            version: version.into(),
            generate_check: None,
        })
    }

    /// A Go generator check run after the tests (fails when generated code is stale).
    pub fn generate_check(mut self, command: impl Into<String>) -> Self {
        if let Language::Go { generate_check, .. } = &mut self.language {
            *generate_check = Some(command.into());
        }
        self
    }

    /// Uses `action` at the full commit `sha` (`version` is kept as a comment-like
    /// reference for reviewers) instead of its major-version tag.
    pub fn pin(
        mut self,
        action: impl Into<String>,
        sha: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.pins
            .insert(action.into(), (sha.into(), version.into()));
        self
    }

    /// Minutes a job may run (default 30).
    pub fn timeout(mut self, minutes: u32) -> Self {
        self.timeout_minutes = minutes;
        self
    }

    /// The repository (clone URL, `https://…` or `ssh://…`) that holds the stack and its
    /// `out/`.
    pub fn repository(mut self, url: impl Into<String>) -> Self {
        self.repository = Some(url.into());
        self
    }

    /// The integration branch (default `main`).
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = branch.into();
        self
    }
}
