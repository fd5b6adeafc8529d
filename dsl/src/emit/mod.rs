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

pub mod manifest;

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
    manifest_changed: bool,
}

impl WritePlan<'_> {
    /// `true` when `out/` (manifest included) already matches.
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty() && !self.manifest_changed
    }

    /// The manifest as on disk and as this plan would write it, when they differ.
    pub fn manifest_change(&self) -> Option<(String, String)> {
        let new = if self.manifest.entries.is_empty() {
            String::new()
        } else {
            self.manifest.render()
        };
        (self.manifest_changed && new != self.old_manifest)
            .then(|| (self.old_manifest.clone(), new))
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

/// Why a folder is not an output folder stackdsl may write to (see
/// [`EmitError::NotAnOutputFolder`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotOutput {
    /// It is the working folder or one of its parents (`--out .`, `--out ..`, `--out /`).
    WorkingFolder(PathBuf),
    /// It, or one of its folders, holds `Cargo.toml` or `.git` (the path found): a project.
    Project(PathBuf),
    /// It has no manifest and holds this file (relative path) at its top, where stackdsl
    /// writes only folders, or one that does not carry the stackdsl marker in one of its
    /// folders, where stackdsl writes only marked files.
    Foreign(String),
    /// It is inside a `.git` folder.
    InsideGit,
    /// It exists and is not a folder.
    NotAFolder,
}

impl fmt::Display for NotOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotOutput::WorkingFolder(_) => {
                f.write_str("is the folder this command runs in, or one of its parents")
            }
            NotOutput::Project(p) => write!(
                f,
                "holds `{}`, so it is a project, not an output folder",
                p.display()
            ),
            NotOutput::Foreign(name) => write!(
                f,
                "holds `{name}`, which stackdsl did not write, and no `{}`, so it is not an output folder",
                manifest::FILE_NAME
            ),
            NotOutput::InsideGit => f.write_str("is inside a `.git` folder"),
            NotOutput::NotAFolder => f.write_str("exists and is not a folder"),
        }
    }
}

/// An emit failure. Unless it is [`EmitError::Interrupted`], nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// Reading or writing a file failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A symlink sits where we would write; we never follow links out of the output folder.
    #[error("`{0}` is a symbolic link; refusing to write through it (remove it, then rerun)")]
    Symlink(PathBuf),
    /// A directory (or other non-file) sits where a generated file goes.
    #[error("`{0}` is not a regular file; refusing to replace it (move it away, then rerun)")]
    NotAFile(PathBuf),
    /// A file (or other non-directory) sits where generated files need a folder.
    #[error(
        "`{0}` is not a folder, but generated files go inside it; refusing to replace it (move it away, then rerun)"
    )]
    NotADirectory(PathBuf),
    /// A renderer produced a path that would leave the output folder.
    #[error("generated path `{0}` is not a plain relative path inside the output folder")]
    BadPath(String),
    /// Two outputs claim the same path.
    #[error("two generated files have the same path `{0}`")]
    DuplicatePath(String),
    /// A file we would write exists and does not carry our marker.
    #[error(
        "`{0}` exists and was not generated by stackdsl; refusing to overwrite it (move it away, rerun, and merge your changes back)"
    )]
    NotOurs(PathBuf),
    /// Files at generated paths whose content stackdsl did not write (see [`Ownership`]);
    /// [`Allow::overwrite`] replaces them.
    #[error("refusing to overwrite {}", list_not_ours(.0))]
    WouldOverwrite(Vec<(PathBuf, Ownership)>),
    /// The output folder is not one stackdsl may write to.
    #[error("`{path}` {why}; refusing to write there")]
    NotAnOutputFolder {
        /// The folder, resolved.
        path: PathBuf,
        /// Why.
        why: NotOutput,
    },
    /// A failure after some files were written or removed (each complete).
    #[error(
        "{cause} (after writing {} and removing {} file(s), each complete)",
        .written.len(),
        .removed.len()
    )]
    Interrupted {
        /// The failure.
        cause: Box<EmitError>,
        /// Files written before it (relative paths); the manifest lists them.
        written: Vec<String>,
        /// Files removed before it (relative paths).
        removed: Vec<String>,
    },
}

impl EmitError {
    /// `true` unless files were written or removed before the failure.
    pub fn wrote_nothing(&self) -> bool {
        !matches!(self, EmitError::Interrupted { .. })
    }

    /// A refusal of the folder's state that the user resolves (exit 2 in the CLI), as
    /// opposed to an I/O failure.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            EmitError::WouldOverwrite(_)
                | EmitError::NotAnOutputFolder { .. }
                | EmitError::NotOurs(_)
        )
    }
}

fn list_not_ours(files: &[(PathBuf, Ownership)]) -> String {
    let n = files.len();
    let shown: Vec<String> = files
        .iter()
        .map(|(p, o)| format!("`{}` ({o})", p.display()))
        .collect();
    format!(
        "{n} file{} whose content stackdsl did not write: {}",
        if n == 1 { "" } else { "s" },
        shown.join(", ")
    )
}

/// Writes `doc` under `root` if its content differs, atomically, refusing to replace a file
/// that does not carry the stackdsl marker. Returns whether it wrote. For files outside the
/// output folder (the repository's CI workflow), which have no manifest.
pub fn write_owned(root: &Path, doc: &Document) -> Result<bool, EmitError> {
    if !manifest::safe_rel_path(&doc.path) {
        return Err(EmitError::BadPath(doc.path.clone()));
    }
    check_parents(root, &doc.path)?;
    let path = root.join(&doc.path);
    match read_existing(&path)? {
        Some(old) if old == doc.contents => Ok(false),
        Some(old) if !manifest::has_marker(&old) => Err(EmitError::NotOurs(path)),
        _ => write_atomic(&path, doc.contents.as_bytes()).map(|()| true),
    }
}

/// The content on disk of `doc`'s path under `root` (`None` if missing), for `--check`.
pub fn read_current(root: &Path, doc: &Document) -> Result<Option<String>, EmitError> {
    read_existing(&root.join(&doc.path))
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> EmitError + use<'a> {
    move |source| EmitError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Reads a file we may replace or remove. `Ok(None)` if it does not exist.
fn read_existing(path: &Path) -> Result<Option<String>, EmitError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("inspecting", path)(e)),
        Ok(m) if m.file_type().is_symlink() => return Err(EmitError::Symlink(path.to_owned())),
        Ok(m) if !m.is_file() => return Err(EmitError::NotAFile(path.to_owned())),
        Ok(_) => {}
    }
    read_text(path).map(Some)
}

fn read_text(path: &Path) -> Result<String, EmitError> {
    let bytes = fs::read(path).map_err(io_err("reading", path))?;
    // Non-UTF-8 content can never equal what we render; compare it lossily.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Checks that no existing component between `out_dir` and `rel`'s parent is a symlink or
/// a non-directory. Returns whether the parent folder exists.
fn check_parents(out_dir: &Path, rel: &str) -> Result<bool, EmitError> {
    let mut p = out_dir.to_path_buf();
    let comps: Vec<&str> = rel.split('/').collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        p.push(c);
        match fs::symlink_metadata(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("inspecting", &p)(e)),
            Ok(m) if m.file_type().is_symlink() => return Err(EmitError::Symlink(p)),
            Ok(m) if !m.is_dir() => return Err(EmitError::NotADirectory(p)),
            Ok(_) => {}
        }
    }
    Ok(true)
}

/// The manifest's text and parse; `ok` is false when it is damaged, or missing although
/// the folder has files.
fn read_manifest(out_dir: &Path) -> Result<(String, Manifest, bool), EmitError> {
    let path = out_dir.join(manifest::FILE_NAME);
    match read_existing(&path)? {
        None => Ok((
            String::new(),
            Manifest::default(),
            !out_dir_has_files(out_dir),
        )),
        Some(text) => {
            let m = Manifest::parse(&text);
            let ok = m.bad_lines == 0;
            Ok((text, m, ok))
        }
    }
}

/// Does the folder hold anything but temp files a killed run left?
fn out_dir_has_files(out_dir: &Path) -> bool {
    fs::read_dir(out_dir).is_ok_and(|d| {
        d.filter_map(Result::ok)
            .any(|e| !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
    })
}

/// Checks that `dir` may be an output folder (see [`NotOutput`]; the working-folder rule
/// needs the working folder and is [`locate`]'s). Returns whether it exists.
fn check_output_folder(dir: &Path) -> Result<bool, EmitError> {
    let refuse = |why| {
        Err(EmitError::NotAnOutputFolder {
            path: dir.to_path_buf(),
            why,
        })
    };
    if dir.components().any(|c| c.as_os_str() == ".git") {
        return refuse(NotOutput::InsideGit);
    }
    // The folder itself may be a symlink (an `out/` kept elsewhere): follow it.
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err("inspecting", dir)(e)),
        Ok(m) if !m.is_dir() => return refuse(NotOutput::NotAFolder),
        Ok(_) => {}
    }
    let mut names: Vec<(String, bool)> = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let e = e.map_err(io_err("listing", dir))?;
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        names.push((e.file_name().to_string_lossy().into_owned(), is_dir));
    }
    names.sort();
    let project = ["Cargo.toml", ".git"];
    let mut foreign = None;
    let mut has_manifest = false;
    for (name, is_dir) in &names {
        if project.contains(&name.as_str()) {
            return refuse(NotOutput::Project(dir.join(name)));
        }
        if *is_dir {
            for p in project {
                let inner = dir.join(name).join(p);
                if fs::symlink_metadata(&inner).is_ok() {
                    return refuse(NotOutput::Project(inner));
                }
            }
        } else if name == manifest::FILE_NAME {
            has_manifest = true;
        } else if !name.starts_with(TEMP_PREFIX) && foreign.is_none() {
            foreign = Some(name.clone());
        }
    }
    if has_manifest {
        return Ok(true);
    }
    if let Some(name) = foreign {
        return refuse(NotOutput::Foreign(name));
    }
    // No manifest, only folders at the top: an output folder whose manifest was lost has
    // stack folders there, whose files (the stack's README) carry our marker; a home or
    // system folder (`--out /home`) has folders of other files.
    for (name, _) in names
        .iter()
        .filter(|(n, d)| *d && !n.starts_with(TEMP_PREFIX))
    {
        let sub = dir.join(name);
        let Ok(rd) = fs::read_dir(&sub) else { continue };
        let mut files: Vec<_> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(TEMP_PREFIX))
            .collect();
        files.sort();
        for file in files {
            if !head_has_marker(&sub.join(&file)) {
                return refuse(NotOutput::Foreign(format!("{name}/{file}")));
            }
        }
    }
    Ok(true)
}

/// Does the regular file at `path` (not followed if a symlink) carry our marker?
fn head_has_marker(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) && manifest::has_marker(&head(path))
}

/// The first KiB of a file, where the marker is (lossy: the cut may split a character).
fn head(path: &Path) -> String {
    use io::Read as _;
    let mut bytes = Vec::new();
    if let Ok(f) = fs::File::open(path) {
        let _ = f.take(1024).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Walks `out_dir` for files the manifest does not list whose marker names a stack/env
/// this scope owns: candidates for clean-up when the manifest is missing or damaged, or
/// with [`Allow::prune`]. Never deleted without the flag: user copies keep the marker.
fn scan_markers(
    out_dir: &Path,
    scope: &Scope,
    listed: &BTreeMap<String, Entry>,
    found: &mut BTreeMap<String, (String, Env)>,
) -> Result<(), EmitError> {
    fn walk(
        dir: &Path,
        rel: &str,
        scope: &Scope,
        listed: &BTreeMap<String, Entry>,
        found: &mut BTreeMap<String, (String, Env)>,
    ) -> Result<(), EmitError> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("listing", dir)(e)),
        };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            // A killed run's temp files and folders are not stale outputs: the run that
            // finds them removes them as temp files.
            if name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // `file_type` does not follow symlinks: a linked folder is not walked.
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                walk(&e.path(), &child_rel, scope, listed, found)?;
            } else if ft.is_file()
                && !(rel.is_empty() && name == manifest::FILE_NAME)
                && !listed.contains_key(&child_rel)
                && let Some((stack, env)) = manifest::marker_owner(&head(&e.path()))
                && scope.owns(env, &stack)
            {
                found.insert(child_rel, (stack, env));
            }
        }
        Ok(())
    }
    walk(out_dir, "", scope, listed, found)
}

/// [`plan_with`] with the safe default: nothing overwritten or deleted that the manifest
/// does not show is ours.
pub fn plan<'a>(
    out_dir: &Path,
    outputs: &'a [Output],
    scope: &Scope,
) -> Result<WritePlan<'a>, EmitError> {
    plan_with(out_dir, outputs, scope, Allow::default())
}

/// Compares `outputs` with `out_dir` and lists what a run for `scope` would change.
/// Writes nothing; refuses a folder that is not an output folder (see [`NotOutput`]).
pub fn plan_with<'a>(
    out_dir: &Path,
    outputs: &'a [Output],
    scope: &Scope,
    allow: Allow,
) -> Result<WritePlan<'a>, EmitError> {
    check_output_folder(out_dir)?;
    let (old_text, old_manifest, manifest_ok) = read_manifest(out_dir)?;
    let mut manifest = Manifest {
        entries: old_manifest.entries.clone(),
        bad_lines: 0,
    };
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    let mut owners = BTreeMap::new();
    let mut produced: BTreeMap<&str, ()> = BTreeMap::new();
    // Parent folders already checked, and whether they exist: every file of a folder
    // shares the answer, and no file of a missing folder needs looking up.
    let mut checked: BTreeMap<&str, bool> = BTreeMap::new();
    for o in outputs {
        let rel = o.doc.path.as_str();
        if !manifest::safe_rel_path(rel) || rel == manifest::FILE_NAME {
            return Err(EmitError::BadPath(rel.to_owned()));
        }
        if produced.insert(rel, ()).is_some() {
            return Err(EmitError::DuplicatePath(rel.to_owned()));
        }
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let parent_exists = match checked.get(parent) {
            Some(&exists) => exists,
            None => {
                let exists = check_parents(out_dir, rel)?;
                checked.insert(parent, exists);
                exists
            }
        };
        let path = out_dir.join(rel);
        let new_hash = manifest::hash(o.doc.contents.as_bytes());
        owners.insert(rel.to_owned(), o.stack.clone());
        let existing = if parent_exists {
            read_existing(&path)?
        } else {
            None
        };
        match existing {
            None => changes.push(Change::Create {
                path: rel.to_owned(),
                contents: &o.doc.contents,
            }),
            Some(old) if old == o.doc.contents => unchanged.push(rel.to_owned()),
            Some(old) => {
                let ownership = match old_manifest.entries.get(rel) {
                    Some(e) if e.hash == manifest::hash(old.as_bytes()) => Ownership::Ours,
                    Some(_) => Ownership::Edited,
                    None => Ownership::NotListed,
                };
                changes.push(Change::Update {
                    path: rel.to_owned(),
                    old,
                    contents: &o.doc.contents,
                    ownership,
                });
            }
        }
        manifest.entries.insert(
            rel.to_owned(),
            Entry {
                hash: new_hash,
                env: o.env,
                stack: o.stack.clone(),
            },
        );
    }
    // Stale files: manifest entries in scope that were not produced (with the hash we
    // wrote), plus, when the manifest cannot be trusted or with `prune`, marked files in
    // scope that it does not list.
    let mut candidates: BTreeMap<String, (String, Env, Option<&str>)> = old_manifest
        .entries
        .iter()
        .filter(|(p, e)| scope.owns(e.env, &e.stack) && !produced.contains_key(p.as_str()))
        .map(|(p, e)| (p.clone(), (e.stack.clone(), e.env, Some(e.hash.as_str()))))
        .collect();
    if !manifest_ok || allow.prune {
        let mut found = BTreeMap::new();
        scan_markers(out_dir, scope, &old_manifest.entries, &mut found)?;
        for (p, (stack, env)) in found {
            if !produced.contains_key(p.as_str()) {
                candidates.entry(p).or_insert((stack, env, None));
            }
        }
    }
    let mut kept = Vec::new();
    for (rel, (stack, env, listed_hash)) in candidates {
        manifest.entries.remove(&rel);
        if !manifest::safe_rel_path(&rel) || !check_parents(out_dir, &rel)? {
            continue;
        }
        let path = out_dir.join(&rel);
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("inspecting", &path)(e)),
            Ok(m) if !m.file_type().is_file() => {
                kept.push(Kept {
                    path: rel,
                    because: KeptBecause::NotAFile,
                });
                continue;
            }
            Ok(_) => {}
        }
        let old = read_text(&path)?;
        let ours = listed_hash.is_some_and(|h| h == manifest::hash(old.as_bytes()));
        let marked = manifest::marker_owner(&old).is_some_and(|(s, e)| s == stack && e == env);
        let because = if ours && manifest_ok {
            None
        } else if manifest_ok {
            Some(KeptBecause::Edited { marked })
        } else if ours || marked {
            Some(KeptBecause::Unvouched)
        } else {
            Some(KeptBecause::Edited { marked: false })
        };
        match because {
            None => {
                owners.insert(rel.clone(), stack);
                changes.push(Change::Remove {
                    path: rel,
                    old,
                    pruned: false,
                });
            }
            Some(because) => {
                let k = Kept { path: rel, because };
                if allow.prune && k.prunable() {
                    owners.insert(k.path.clone(), stack);
                    changes.push(Change::Remove {
                        path: k.path,
                        old,
                        pruned: true,
                    });
                } else {
                    kept.push(k);
                }
            }
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    let new_text = if manifest.entries.is_empty() {
        String::new()
    } else {
        manifest.render()
    };
    let manifest_changed = new_text != old_text;
    let manifest_damaged = !manifest_ok && out_dir_has_files(out_dir);
    Ok(WritePlan {
        out_dir: out_dir.to_path_buf(),
        changes,
        unchanged,
        kept,
        manifest_damaged,
        allow,
        owners,
        manifest_was_intact: manifest_ok,
        old_manifest: old_text,
        old_entries: old_manifest.entries,
        manifest,
        manifest_changed,
    })
}

/// Writes `contents` to `path` atomically: temp file in the same folder, then rename.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), EmitError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("creating folder", dir))?;
    write_atomic_in(dir, path, contents)
}

/// [`write_atomic`] into `dir`, the existing folder of `path`.
fn write_atomic_in(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), EmitError> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(io_err("creating a temp file in", dir))?;
    tmp.write_all(contents).map_err(io_err("writing", path))?;
    set_mode(tmp.as_file(), path)?;
    tmp.persist(path).map_err(|e| EmitError::Io {
        action: "replacing",
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

/// Removes the temp files and temp folders an interrupted run left in `dir`.
fn clean_temp_files(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            if !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            // `file_type` does not follow symlinks: a link is neither, and is left alone.
            match e.file_type() {
                Ok(t) if t.is_file() => {
                    let _ = fs::remove_file(e.path());
                }
                Ok(t) if t.is_dir() => {
                    let _ = fs::remove_dir_all(e.path());
                }
                _ => {}
            }
        }
    }
}

/// Writes the new folder `top` (relative to `out_dir`) with `files` (paths relative to
/// `out_dir`, all below `top`): into a temp folder beside it, renamed into place once
/// complete. On failure the temp folder is removed and nothing appears.
fn write_new_folder(out_dir: &Path, top: &str, files: &[(&str, &str)]) -> Result<(), EmitError> {
    let target = out_dir.join(top);
    let parent = target.parent().unwrap_or(out_dir);
    fs::create_dir_all(parent).map_err(io_err("creating folder", parent))?;
    let staging = temp_folder(parent)?;
    let written = (|| {
        let mut made: BTreeMap<PathBuf, ()> = BTreeMap::new();
        for (rel, contents) in files {
            let below = rel
                .strip_prefix(top)
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(rel);
            let path = staging.join(below);
            let dir = path.parent().unwrap_or(&staging);
            if !made.contains_key(dir) {
                fs::create_dir_all(dir).map_err(io_err("creating folder", dir))?;
                made.insert(dir.to_path_buf(), ());
            }
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io_err("creating", &path))?;
            f.write_all(contents.as_bytes())
                .map_err(io_err("writing", &path))?;
            set_mode(&f, &path)?;
        }
        fs::rename(&staging, &target).map_err(io_err("moving into place", &target))
    })();
    if written.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    written
}

/// Creates an empty temp folder in `parent` (permissions as `create_dir_all` gives).
fn temp_folder(parent: &Path) -> Result<PathBuf, EmitError> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        ^ u128::from(std::process::id());
    for attempt in 0u128..100 {
        let path = parent.join(format!("{TEMP_PREFIX}{:x}", seed.wrapping_add(attempt)));
        match fs::DirBuilder::new().create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("creating a temp folder in", parent)(e)),
        }
    }
    Err(io_err("creating a temp folder in", parent)(
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

/// Generated files are `rw-r--r--` whatever the umask (as in a fresh checkout).
fn set_mode(f: &fs::File, path: &Path) -> Result<(), EmitError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(io_err("setting permissions of", path))?;
    }
    #[cfg(not(unix))]
    let _ = (f, path);
    Ok(())
}

/// The topmost folder of `rel`'s parents that does not exist under `out_dir` (`None` when
/// its parent folder exists). `exists` caches folders looked up.
fn top_missing<'a>(
    out_dir: &Path,
    rel: &'a str,
    exists: &mut BTreeMap<&'a str, bool>,
) -> Option<&'a str> {
    let parent = rel.rsplit_once('/')?.0;
    let mut end = 0;
    loop {
        end = parent[end..].find('/').map_or(parent.len(), |i| end + i);
        let folder = &parent[..end];
        let found = *exists
            .entry(folder)
            .or_insert_with(|| fs::symlink_metadata(out_dir.join(folder)).is_ok());
        if !found {
            return Some(folder);
        }
        if end == parent.len() {
            return None;
        }
        end += 1;
    }
}

/// Where an output folder is, seen from the working folder (see [`locate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// Below the working folder (after resolving symlinks and `..`).
    Inside,
    /// Anywhere else; a writing run needs `--allow-outside` there.
    Outside,
}

/// An output folder [`locate`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The folder, absolute: symlinks among its existing folders resolved, `.` and `..`
    /// applied. Write here, not to the path as typed.
    pub path: PathBuf,
    /// Inside or outside the working folder.
    pub location: Location,
}

/// `path` made absolute against `cwd` (absolute and canonical), with symlinks among its
/// existing folders resolved and `.` and `..` applied. A `..` after a part that does not
/// exist is applied to the text (a missing folder cannot be a link), so `missing/../out`
/// is `out`, and no `missing` folder is ever created.
fn resolve(path: &Path, cwd: &Path) -> Result<PathBuf, EmitError> {
    let mut out = cwd.to_path_buf();
    // `out` exists (and is canonical) so far.
    let mut exists = true;
    for c in path.components() {
        match c {
            Component::Prefix(p) => {
                out = PathBuf::from(p.as_os_str());
                exists = true;
            }
            Component::RootDir => {
                out.push(Component::RootDir.as_os_str());
                exists = true;
            }
            Component::CurDir => {}
            // A file followed by more parts (`notes.txt/..`) names no folder.
            _ if exists && !out.is_dir() => {
                return Err(io_err("resolving `--out` through", &out)(io::Error::from(
                    io::ErrorKind::NotADirectory,
                )));
            }
            Component::ParentDir => {
                out.pop();
                exists = exists || fs::symlink_metadata(&out).is_ok();
            }
            Component::Normal(name) => {
                let next = out.join(name);
                if exists {
                    match fs::symlink_metadata(&next) {
                        Ok(m) if m.file_type().is_symlink() => {
                            out = fs::canonicalize(&next)
                                .map_err(io_err("resolving the symbolic link", &next))?;
                        }
                        Ok(_) => out = next,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            out = next;
                            exists = false;
                        }
                        Err(e) => return Err(io_err("inspecting", &next)(e)),
                    }
                } else {
                    out = next;
                }
            }
        }
    }
    Ok(out)
}

/// Resolves the output folder `out_dir` (relative to the working folder `cwd`) and checks
/// that a run may write there: not the working folder or one of its parents (`--out .`,
/// `--out ..`, `--out /`), and an output folder (see [`NotOutput`]). Reads, never writes.
/// The CLI refuses [`Location::Outside`] unless given `--allow-outside`, so a mistyped
/// `--out` cannot scatter files, or clean up stale ones, in an unrelated folder — even
/// one holding another project's stackdsl output.
///
/// ```
/// use stackdsl::emit::{locate, Location, NotOutput, EmitError};
/// let dir = tempfile::tempdir().unwrap();
/// // `missing` does not exist: `missing/../out` is `out`, which need not exist yet.
/// let found = locate("missing/../out".as_ref(), dir.path()).unwrap();
/// assert_eq!(found.location, Location::Inside);
/// assert_eq!(found.path, dir.path().canonicalize().unwrap().join("out"));
/// assert!(matches!(
///     locate(".".as_ref(), dir.path()),
///     Err(EmitError::NotAnOutputFolder { why: NotOutput::WorkingFolder(_), .. })
/// ));
/// ```
pub fn locate(out_dir: &Path, cwd: &Path) -> Result<Located, EmitError> {
    let cwd = fs::canonicalize(cwd).map_err(io_err("resolving the working folder", cwd))?;
    let path = resolve(out_dir, &cwd)?;
    if cwd.starts_with(&path) {
        return Err(EmitError::NotAnOutputFolder {
            path,
            why: NotOutput::WorkingFolder(cwd),
        });
    }
    check_output_folder(&path)?;
    let location = if path.starts_with(&cwd) {
        Location::Inside
    } else {
        Location::Outside
    };
    Ok(Located { path, location })
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

/// Creates `dir` and its missing parents; returns those it created, deepest first.
fn create_folder(dir: &Path) -> Result<Vec<PathBuf>, EmitError> {
    let created: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(dir).map_err(io_err("creating folder", dir))?;
    Ok(created)
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

/// Carries out a plan. Callers normally use [`synthesize`], which holds the folder lock.
/// Refuses, before writing anything, a plan that would replace files whose content
/// stackdsl did not write, unless it was made with [`Allow::overwrite`].
pub fn apply(plan: &WritePlan<'_>) -> Result<Report, EmitError> {
    let not_ours = plan.not_ours();
    if !plan.allow.overwrite && !not_ours.is_empty() {
        return Err(EmitError::WouldOverwrite(
            not_ours
                .into_iter()
                .map(|(p, o)| (plan.out_dir.join(p), o))
                .collect(),
        ));
    }
    let mut report = Report {
        kept: plan.kept.clone(),
        manifest_rebuilt: plan.manifest_damaged,
        ..Report::default()
    };
    let mut written = Vec::new();
    let mut removed = Vec::new();
    match apply_changes(plan, &mut report, &mut written, &mut removed) {
        Ok(()) => Ok(report),
        Err(cause) if written.is_empty() && removed.is_empty() => Err(cause),
        Err(cause) => {
            record_progress(plan, &written, &removed);
            Err(EmitError::Interrupted {
                cause: Box::new(cause),
                written: written.into_iter().map(str::to_owned).collect(),
                removed: removed.into_iter().map(str::to_owned).collect(),
            })
        }
    }
}

/// After a failure part-way: makes the manifest list what was written and drop what was
/// removed, so the next run knows those files are ours. Only over an intact manifest (a
/// damaged one stays damaged, so nothing is deleted on its word). Best effort: the run is
/// failing already.
fn record_progress(plan: &WritePlan<'_>, written: &[&str], removed: &[&str]) {
    if !plan.manifest_was_intact {
        return;
    }
    let mut m = Manifest {
        entries: plan.old_entries.clone(),
        bad_lines: 0,
    };
    for rel in written {
        if let Some(e) = plan.manifest.entries.get(*rel) {
            m.entries.insert((*rel).to_owned(), e.clone());
        }
    }
    for rel in removed {
        m.entries.remove(*rel);
    }
    if !m.entries.is_empty() {
        let _ = write_atomic(
            &plan.out_dir.join(manifest::FILE_NAME),
            m.render().as_bytes(),
        );
    }
}

fn apply_changes<'p>(
    plan: &'p WritePlan<'_>,
    report: &mut Report,
    written: &mut Vec<&'p str>,
    removed: &mut Vec<&'p str>,
) -> Result<(), EmitError> {
    // Temp files an interrupted run left behind: in every folder this run writes to or
    // owns files in, up to date or not, and in the output folder itself (the manifest's).
    // A new folder's temp folder sits in one of its parents: clean those too.
    let mut dirs: BTreeMap<&str, ()> = BTreeMap::from([("", ())]);
    let paths = plan.changes.iter().map(Change::path);
    for rel in paths.chain(plan.unchanged.iter().map(String::as_str)) {
        let mut folder = rel;
        while let Some((parent, _)) = folder.rsplit_once('/') {
            if dirs.insert(parent, ()).is_some() {
                break;
            }
            folder = parent;
        }
    }
    for dir in dirs.keys() {
        clean_temp_files(&plan.out_dir.join(dir));
    }
    for rel in &plan.unchanged {
        *report
            .unchanged
            .entry(plan.owner(rel).unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    let mut removed_dirs: BTreeMap<PathBuf, ()> = BTreeMap::new();
    // New files in folders that do not exist yet: each new folder is written whole and
    // renamed into place.
    let mut exists: BTreeMap<&str, bool> = BTreeMap::new();
    let mut new_folders: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for c in &plan.changes {
        if let Change::Create { path, contents } = c
            && let Some(top) = top_missing(&plan.out_dir, path, &mut exists)
        {
            new_folders.entry(top).or_default().push((path, contents));
        }
    }
    for (top, files) in &new_folders {
        write_new_folder(&plan.out_dir, top, files)?;
        for (rel, _) in files {
            *report
                .written
                .entry(plan.owner(rel).unwrap_or_default().to_owned())
                .or_default() += 1;
            written.push(rel);
        }
    }
    let staged: BTreeMap<&str, ()> = new_folders
        .values()
        .flatten()
        .map(|(rel, _)| (*rel, ()))
        .collect();
    // Folders known to exist: created (or found) once, not once per file.
    let mut made_dirs: BTreeMap<PathBuf, ()> = BTreeMap::new();
    for c in &plan.changes {
        let owner = plan.owner(c.path()).unwrap_or_default().to_owned();
        let path = plan.out_dir.join(c.path());
        match c {
            Change::Create { path: rel, .. } if staged.contains_key(rel.as_str()) => {}
            Change::Create { contents, .. } | Change::Update { contents, .. } => {
                let dir = path.parent().unwrap_or(Path::new("."));
                if !made_dirs.contains_key(dir) {
                    fs::create_dir_all(dir).map_err(io_err("creating folder", dir))?;
                    made_dirs.insert(dir.to_path_buf(), ());
                }
                write_atomic_in(dir, &path, contents.as_bytes())?;
                *report.written.entry(owner).or_default() += 1;
                written.push(c.path());
                if let Change::Update {
                    ownership,
                    path: rel,
                    ..
                } = c
                    && *ownership != Ownership::Ours
                {
                    report.overwritten.push((rel.clone(), *ownership));
                }
            }
            Change::Remove {
                path: rel, pruned, ..
            } => {
                fs::remove_file(&path).map_err(io_err("removing", &path))?;
                *report.removed.entry(owner).or_default() += 1;
                removed.push(rel);
                if *pruned {
                    report.pruned.push(rel.clone());
                }
                if let Some(parent) = path.parent() {
                    removed_dirs.insert(parent.to_path_buf(), ());
                }
            }
        }
    }
    // Remove folders our deletions emptied, innermost first, never the output folder itself.
    for dir in removed_dirs.keys().rev() {
        let mut d = dir.clone();
        while d.starts_with(&plan.out_dir) && d != plan.out_dir {
            if fs::remove_dir(&d).is_err() {
                break;
            }
            if !d.pop() {
                break;
            }
        }
    }
    if plan.manifest_changed {
        let path = plan.out_dir.join(manifest::FILE_NAME);
        if plan.manifest.entries.is_empty() {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_err("removing", &path)(e));
                }
                _ => {}
            }
        } else {
            write_atomic(&path, plan.manifest.render().as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_found_when_the_first_kib_ends_inside_a_character() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("README.md");
        let marker = "<!-- Generated by stackdsl from s/src/ab.rs (stack `a`, env `prod`). -->\n";
        // `é` is two bytes: with an odd-length marker line, byte 1024 splits one.
        let text = format!("{marker}{}", "é".repeat(600));
        assert_eq!(marker.len() % 2, 1);
        fs::write(&path, text).unwrap();
        assert!(head_has_marker(&path));
        assert_eq!(
            manifest::marker_owner(&head(&path)),
            Some(("a".into(), Env::Prod))
        );
    }

    #[test]
    fn resolve_applies_dot_dot_of_missing_folders_to_the_text_and_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = fs::canonicalize(dir.path()).unwrap();
        let at = |p: &str| resolve(Path::new(p), &cwd).unwrap();
        assert_eq!(at("missing/../out"), cwd.join("out"));
        assert_eq!(at("./out/../out/."), cwd.join("out"));
        assert_eq!(at("a/b/../../.."), cwd.parent().unwrap());
        fs::create_dir(cwd.join("real")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(cwd.join("real"), cwd.join("link")).unwrap();
            assert_eq!(at("link/out"), cwd.join("real/out"));
        }
        fs::write(cwd.join("file"), "x").unwrap();
        let e = resolve(Path::new("file/../out"), &cwd).unwrap_err();
        assert!(e.to_string().contains("/file`: not a directory"), "{e}");
    }

    #[test]
    fn an_output_folder_without_a_manifest_must_look_like_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(!check_output_folder(&d.join("new")).unwrap());
        assert!(check_output_folder(d).unwrap());
        // A lost manifest: stack folders whose files carry the marker.
        fs::create_dir_all(d.join("shop/dev")).unwrap();
        fs::write(
            d.join("shop/README.md"),
            "<!-- Generated by stackdsl from s (stack `shop`, env `prod`). -->\n",
        )
        .unwrap();
        fs::write(
            d.join("shop/dev/notes.txt"),
            "deeper files are not looked at\n",
        )
        .unwrap();
        assert!(check_output_folder(d).unwrap());
        fs::write(d.join("shop/todo.txt"), "mine\n").unwrap();
        let foreign = |e: EmitError| match e {
            EmitError::NotAnOutputFolder {
                why: NotOutput::Foreign(name),
                ..
            } => name,
            e => panic!("{e}"),
        };
        assert_eq!(
            foreign(check_output_folder(d).unwrap_err()),
            "shop/todo.txt"
        );
        // With a manifest, files of the user's beside ours are fine …
        fs::write(d.join(manifest::FILE_NAME), "").unwrap();
        fs::write(d.join("NOTES.md"), "mine\n").unwrap();
        assert!(check_output_folder(d).unwrap());
        // … but a project never is.
        fs::create_dir_all(d.join("shop/.git")).unwrap();
        assert!(matches!(
            check_output_folder(d),
            Err(EmitError::NotAnOutputFolder {
                why: NotOutput::Project(_),
                ..
            })
        ));
    }
}
