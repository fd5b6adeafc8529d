//! Emit: the only code that touches the filesystem.
//!
//! [`plan`] compares what the renderers produced with what is on disk and lists the
//! changes; [`apply`] carries them out; `--check` prints them instead. [`synthesize`] does
//! both under a lock on the output folder.
//!
//! **Ownership.** The manifest ([`manifest::FILE_NAME`]) lists every file stackdsl wrote,
//! with the hash of the content it wrote. A file is *ours* only while the manifest lists
//! it and its content still has that hash. The marker line at the top of a generated file
//! proves nothing: users copy generated files (`compose.override.yaml`) and the copy keeps
//! the marker. So:
//!
//! - **Overwrite** only files that are ours. A file at a generated path that was edited
//!   since we wrote it, or that the manifest does not list, stops the run before anything
//!   is written ([`EmitError::WouldOverwrite`]) unless [`Allow::overwrite`] is set.
//! - **Delete** only files that are ours and no longer generated, and only when the
//!   manifest is intact. A stale file that was edited, or any stale file when the manifest
//!   is missing or damaged, is kept and listed ([`Kept`]); files among them that carry the
//!   marker for the run's stacks and environment are deleted with [`Allow::prune`], never
//!   without. A file without the marker whose content is not ours is never deleted.
//! - **Output folder**: a folder that holds `Cargo.toml` or `.git` (itself or one of its
//!   folders), that lies inside a `.git` folder, or that has no manifest but holds a file
//!   at its top (stackdsl writes only folders there) is not an output folder and is
//!   refused before anything is read or written ([`EmitError::NotAnOutputFolder`]).
//!   [`locate`] also refuses the working folder and its parents, and tells the CLI whether
//!   the folder is outside the working folder (which then needs `--allow-outside`).
//!
//! Other guarantees:
//!
//! - **Atomic writes**: each file is written to a temp file in its own folder and renamed
//!   over the target, so a reader (or a crash) sees the old or the new content, never half.
//!   A folder that does not exist yet is written whole into a temp folder beside it and
//!   renamed into place, so its files appear all at once (one rename, not one per file).
//!   The manifest is written last. Temp files and folders ([`TEMP_PREFIX`]) a killed run
//!   left are removed by the next run from every folder it writes to or owns files in, and
//!   from their parents up to the output folder.
//! - **Write-if-changed**: an unchanged file is not touched and keeps its mtime.
//! - **No escapes**: a symlink or directory where a file should go is refused, never
//!   followed; a manifest line naming a path outside the folder (`../../etc/passwd`) makes
//!   the manifest damaged, and is never read or deleted.
//! - **Errors name their path**, and say whether anything was written: every failure
//!   before the first write leaves the folder as it was (an output folder this run created
//!   is removed again); a failure after writes began is an [`EmitError::Interrupted`]
//!   naming what was written, and the manifest then lists those files.
//! - **Serialised runs**: concurrent runs on one output folder take turns (an advisory
//!   lock on the folder), so the manifest never loses an update.

mod error;
mod folder;
pub mod manifest;
mod plan;
#[cfg(test)]
mod tests;
mod write;

use error::*;
pub use error::{EmitError, NotOutput};
use folder::*;
pub use folder::{Located, Location, locate, read_current};
pub use plan::{plan, plan_with};
pub use write::{apply, write_owned};

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};

use crate::model::Env;
use crate::render::Document;
pub use crate::render::Output;
use manifest::{Entry, Manifest};

/// Prefix of the temp files (and folders) we create next to a target while writing it.
pub const TEMP_PREFIX: &str = ".stackdsl-tmp-";

/// Which manifest entries this run owns: one environment, optionally only some stacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Environment synthesized.
    pub env: Env,
    /// `Some`: only these stacks (`--stack`); `None`: every stack of the environment,
    /// including stacks that no longer exist.
    pub stacks: Option<Vec<String>>,
}

impl Scope {
    fn owns(&self, env: Env, stack: &str) -> bool {
        env == self.env
            && self
                .stacks
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| n == stack))
    }
}

/// What a run may do beyond the safe default. Each field is a command-line flag of the
/// same name; both are off by default.
///
/// ```
/// use stackdsl::emit::Allow;
/// // `--prune`: delete the stale marked files a run lists as kept.
/// let allow = Allow { prune: true, ..Allow::default() };
/// assert!(!allow.overwrite);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    /// Replace files at generated paths whose content stackdsl did not write: edited since
    /// it wrote them, or not listed in the manifest ([`Ownership::Edited`],
    /// [`Ownership::NotListed`]). Without it [`apply`] refuses and writes nothing.
    pub overwrite: bool,
    /// Delete stale files that stackdsl cannot show are exactly what it wrote but that
    /// carry its marker for this run's stacks and environment: the [`Kept`] files whose
    /// [`Kept::prunable`] is true. Looks for marked files the manifest does not list even
    /// when the manifest is intact, so a run after a damaged manifest can still remove
    /// them.
    pub prune: bool,
}

/// Whose content a file at a generated path has, going by the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Listed in the manifest with the hash of its content: exactly what stackdsl wrote.
    Ours,
    /// Listed in the manifest, but the content changed since stackdsl wrote it (edited by
    /// hand, checked out from another branch, or written by a run that was interrupted
    /// before it could record it).
    Edited,
    /// Not listed in the manifest: a file stackdsl did not write (or whose manifest line
    /// was lost with a missing or damaged manifest).
    NotListed,
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ownership::Ours => "written by stackdsl",
            Ownership::Edited => "edited since stackdsl wrote it",
            Ownership::NotListed => "not written by stackdsl (the manifest does not list it)",
        })
    }
}

/// What happens to one file. New content is borrowed from the [`Output`]s planned for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    /// A new file.
    Create {
        /// Relative path.
        path: String,
        /// Content to write.
        contents: &'a str,
    },
    /// An existing file gets new content.
    Update {
        /// Relative path.
        path: String,
        /// Content on disk.
        old: String,
        /// Content to write.
        contents: &'a str,
        /// Whose content is on disk; anything but [`Ownership::Ours`] needs
        /// [`Allow::overwrite`].
        ownership: Ownership,
    },
    /// A file we generated earlier that is no longer produced.
    Remove {
        /// Relative path.
        path: String,
        /// Content on disk.
        old: String,
        /// Deleted only because of [`Allow::prune`] (not proven ours by the manifest).
        pruned: bool,
    },
}

impl Change<'_> {
    /// The relative path.
    pub fn path(&self) -> &str {
        match self {
            Change::Create { path, .. }
            | Change::Update { path, .. }
            | Change::Remove { path, .. } => path,
        }
    }
}

/// Why a stale file (no longer generated) is left in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeptBecause {
    /// The manifest lists it, but its content changed since stackdsl wrote it. `marked`:
    /// it carries the marker for its stack and environment.
    Edited {
        /// Carries the marker for this run's stacks and environment.
        marked: bool,
    },
    /// The manifest is missing or damaged, so nothing vouches for it; it carries the marker
    /// for this run's stacks and environment, or matches a line of the damaged manifest.
    /// It may be ours, or a user's copy of a generated file.
    Unvouched,
    /// A folder or symlink stands where the manifest lists a file.
    NotAFile,
}

/// A stale file a run leaves in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Relative path.
    pub path: String,
    /// Why.
    pub because: KeptBecause,
}

impl Kept {
    /// Would [`Allow::prune`] delete it? (It carries our marker or our content.)
    pub fn prunable(&self) -> bool {
        matches!(
            self.because,
            KeptBecause::Edited { marked: true } | KeptBecause::Unvouched
        )
    }
}

/// The changes a run would make, and the manifest it would leave behind.
#[derive(Debug)]
pub struct WritePlan<'a> {
    out_dir: PathBuf,
    /// Files to create, update or remove, sorted by path.
    pub changes: Vec<Change<'a>>,
    /// Files whose content is already right.
    pub unchanged: Vec<String>,
    /// Stale files left in place, sorted by path.
    pub kept: Vec<Kept>,
    /// The manifest is damaged, or missing although the folder holds files: nothing is
    /// deleted unless pruned, and the manifest is rewritten from this run.
    pub manifest_damaged: bool,
    allow: Allow,
    owners: BTreeMap<String, String>,
    old_manifest: String,
    old_entries: BTreeMap<String, Entry>,
    manifest_was_intact: bool,
    manifest: Manifest,
    /// `manifest` as this plan writes it (empty: the manifest is removed).
    new_manifest: String,
}

impl WritePlan<'_> {
    /// `true` when `out/` (manifest included) already matches.
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty() && !self.manifest_changed()
    }

    /// Whether this plan rewrites (or removes) the manifest.
    fn manifest_changed(&self) -> bool {
        self.new_manifest != self.old_manifest
    }

    /// The manifest as on disk and as this plan would write it, when they differ.
    pub fn manifest_change(&self) -> Option<(String, String)> {
        self.manifest_changed()
            .then(|| (self.old_manifest.clone(), self.new_manifest.clone()))
    }

    /// The output folder.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// The stack owning a path of this plan (new or removed).
    pub fn owner(&self, path: &str) -> Option<&str> {
        self.owners.get(path).map(String::as_str)
    }

    /// The files this plan would replace although their content is not what stackdsl
    /// wrote; [`apply`] refuses them unless the plan was made with [`Allow::overwrite`].
    pub fn not_ours(&self) -> Vec<(&str, Ownership)> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                Change::Update {
                    path, ownership, ..
                } if *ownership != Ownership::Ours => Some((path.as_str(), *ownership)),
                _ => None,
            })
            .collect()
    }
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Files created or updated, by stack.
    pub written: BTreeMap<String, usize>,
    /// Files already up to date, by stack.
    pub unchanged: BTreeMap<String, usize>,
    /// Stale files deleted, by stack.
    pub removed: BTreeMap<String, usize>,
    /// Files replaced under [`Allow::overwrite`] whose content stackdsl had not written.
    pub overwritten: Vec<(String, Ownership)>,
    /// Stale files deleted under [`Allow::prune`] (counted in `removed` too).
    pub pruned: Vec<String>,
    /// Stale files left in place.
    pub kept: Vec<Kept>,
    /// The manifest was missing or damaged: nothing was deleted unless pruned, and it now
    /// lists this run's files.
    pub manifest_rebuilt: bool,
}

/// An advisory lock on the output folder, released on drop.
struct DirLock(#[allow(dead_code)] Option<fs::File>);

fn lock_dir(out_dir: &Path) -> Result<DirLock, EmitError> {
    #[cfg(unix)]
    {
        let f = fs::File::open(out_dir).map_err(io_err("opening", out_dir))?;
        f.lock().map_err(io_err("locking", out_dir))?;
        Ok(DirLock(Some(f)))
    }
    #[cfg(not(unix))]
    {
        let _ = out_dir;
        Ok(DirLock(None))
    }
}

/// [`synthesize_with`] with the safe default ([`Allow::default`]).
pub fn synthesize(out_dir: &Path, outputs: &[Output], scope: &Scope) -> Result<Report, EmitError> {
    synthesize_with(out_dir, outputs, scope, Allow::default())
}

/// Locks the output folder (creating it if needed), plans against its current state and
/// applies the plan. On a failure before anything was written, an output folder this call
/// created is removed again.
///
/// ```
/// use stackdsl::emit::{synthesize_with, Allow, EmitError, Output, Scope};
/// use stackdsl::model::Env;
/// use stackdsl::render::Document;
/// let dir = tempfile::tempdir().unwrap();
/// let out = dir.path().join("out");
/// let doc = |contents: &str| Output {
///     stack: "shop".into(),
///     env: Env::Dev,
///     doc: Document::new("shop/dev/notes.txt", contents),
/// };
/// let scope = Scope { env: Env::Dev, stacks: None };
/// synthesize_with(&out, &[doc("v1\n")], &scope, Allow::default()).unwrap();
/// // Edited by hand since: the next run refuses to overwrite it, and writes nothing …
/// std::fs::write(out.join("shop/dev/notes.txt"), "mine\n").unwrap();
/// let refused = synthesize_with(&out, &[doc("v2\n")], &scope, Allow::default());
/// assert!(matches!(refused, Err(EmitError::WouldOverwrite(_))));
/// // … unless told to.
/// let allow = Allow { overwrite: true, ..Allow::default() };
/// let report = synthesize_with(&out, &[doc("v2\n")], &scope, allow).unwrap();
/// assert_eq!(report.overwritten.len(), 1);
/// ```
pub fn synthesize_with(
    out_dir: &Path,
    outputs: &[Output],
    scope: &Scope,
    allow: Allow,
) -> Result<Report, EmitError> {
    let created = if check_output_folder(out_dir)? {
        Vec::new()
    } else {
        create_folder(out_dir)?
    };
    let result = (|| {
        let _lock = lock_dir(out_dir)?;
        let plan = plan_with(out_dir, outputs, scope, allow)?;
        apply(&plan)
    })();
    if result.as_ref().is_err_and(EmitError::wrote_nothing) {
        for dir in &created {
            // Only if still empty: a concurrent run may have written there meanwhile.
            let _ = fs::remove_dir(dir);
        }
    }
    result
}
