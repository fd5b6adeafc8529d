//! Emit: the only code that touches the filesystem.
//!
//! [`plan`] compares what the renderers produced with what is on disk and lists the
//! changes; [`apply`] carries them out; `--check` prints them instead. Guarantees:
//!
//! - **Atomic writes**: each file is written to a temp file in its own folder and renamed
//!   over the target, so a reader (or a crash) sees the old or the new content, never half.
//!   A folder that does not exist yet is written whole into a temp folder beside it and
//!   renamed into place, so its files appear all at once (one rename, not one per file).
//!   The manifest is written last. Temp files and folders ([`TEMP_PREFIX`]) a killed run
//!   left are removed by the next run from every folder it writes to or owns files in, and
//!   from their parents up to the output folder.
//! - **Write-if-changed**: an unchanged file is not touched and keeps its mtime.
//! - **Safe clean-up**: a file the manifest lists for this run's scope that is no longer
//!   produced is deleted only if it still carries our marker or the content we wrote;
//!   anything else is reported and kept. A file we did not generate is never touched.
//! - **No escapes**: a symlink or directory where a file should go is refused, never followed.
//! - **Serialised runs**: concurrent runs on one output folder take turns (an advisory
//!   lock on the folder), so the manifest never loses an update.

pub mod manifest;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

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
        /// The file on disk differs from what we last wrote: someone edited it by hand.
        hand_edited: bool,
    },
    /// A file we generated earlier that is no longer produced.
    Remove {
        /// Relative path.
        path: String,
        /// Content on disk.
        old: String,
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

/// The changes a run would make, and the manifest it would leave behind.
#[derive(Debug)]
pub struct Plan<'a> {
    out_dir: PathBuf,
    /// Files to create, update or remove, sorted by path.
    pub changes: Vec<Change<'a>>,
    /// Files whose content is already right.
    pub unchanged: Vec<String>,
    /// Stale files that lack our marker and our content: kept, reported.
    pub kept: Vec<String>,
    /// The manifest could not be read fully (missing lines were rebuilt from markers).
    pub manifest_damaged: bool,
    owners: BTreeMap<String, String>,
    old_manifest: String,
    manifest: Manifest,
    manifest_changed: bool,
}

impl Plan<'_> {
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
}

/// An emit failure; nothing after the failing file was written.
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
    let bytes = fs::read(path).map_err(io_err("reading", path))?;
    // Non-UTF-8 content can never equal what we render; compare it lossily.
    Ok(Some(String::from_utf8(bytes).unwrap_or_else(|e| {
        String::from_utf8_lossy(e.as_bytes()).into_owned()
    })))
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

fn out_dir_has_files(out_dir: &Path) -> bool {
    fs::read_dir(out_dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Walks `out_dir` for files whose marker names a stack/env this scope owns (used when the
/// manifest is missing or damaged, so stale files can still be proven ours).
fn scan_markers(
    out_dir: &Path,
    scope: &Scope,
    found: &mut BTreeMap<String, (String, Env)>,
) -> Result<(), EmitError> {
    fn walk(
        dir: &Path,
        rel: &str,
        scope: &Scope,
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
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                walk(&e.path(), &child_rel, scope, found)?;
            } else if ft.is_file() && name != manifest::FILE_NAME {
                let mut head = String::new();
                if let Ok(f) = fs::File::open(e.path()) {
                    use io::Read as _;
                    let _ = f.take(1024).read_to_string(&mut head);
                }
                if let Some((stack, env)) = manifest::marker_owner(&head)
                    && scope.owns(env, &stack)
                {
                    found.insert(child_rel, (stack, env));
                }
            }
        }
        Ok(())
    }
    walk(out_dir, "", scope, found)
}

/// Compares `outputs` with `out_dir` and lists what a run for `scope` would change.
pub fn plan<'a>(
    out_dir: &Path,
    outputs: &'a [Output],
    scope: &Scope,
) -> Result<Plan<'a>, EmitError> {
    let (old_text, old_manifest, manifest_ok) = read_manifest(out_dir)?;
    let mut manifest = old_manifest.clone();
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
                let hand_edited = old_manifest
                    .entries
                    .get(rel)
                    .is_none_or(|e| e.hash != manifest::hash(old.as_bytes()));
                changes.push(Change::Update {
                    path: rel.to_owned(),
                    old,
                    contents: &o.doc.contents,
                    hand_edited,
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
    // Stale files: manifest entries in scope that were not produced, plus (when the
    // manifest cannot be trusted) marker-carrying files in scope.
    let mut candidates: BTreeMap<String, (String, Env)> = old_manifest
        .entries
        .iter()
        .filter(|(p, e)| scope.owns(e.env, &e.stack) && !produced.contains_key(p.as_str()))
        .map(|(p, e)| (p.clone(), (e.stack.clone(), e.env)))
        .collect();
    if !manifest_ok {
        let mut found = BTreeMap::new();
        scan_markers(out_dir, scope, &mut found)?;
        for (p, owner) in found {
            if !produced.contains_key(p.as_str()) {
                candidates.entry(p).or_insert(owner);
            }
        }
    }
    let mut kept = Vec::new();
    for (rel, (stack, _)) in candidates {
        manifest.entries.remove(&rel);
        if !manifest::safe_rel_path(&rel) {
            continue;
        }
        check_parents(out_dir, &rel)?;
        let Some(old) = read_existing(&out_dir.join(&rel))? else {
            continue;
        };
        let ours = manifest::has_marker(&old)
            || old_manifest
                .entries
                .get(&rel)
                .is_some_and(|e| e.hash == manifest::hash(old.as_bytes()));
        if ours {
            owners.insert(rel.clone(), stack);
            changes.push(Change::Remove { path: rel, old });
        } else {
            kept.push(rel);
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    let new_text = if manifest.entries.is_empty() {
        String::new()
    } else {
        manifest.render()
    };
    let manifest_changed = new_text != old_text;
    Ok(Plan {
        out_dir: out_dir.to_path_buf(),
        changes,
        unchanged,
        kept,
        manifest_damaged: !manifest_ok && out_dir_has_files(out_dir),
        owners,
        old_manifest: old_text,
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
    /// Inside the working folder (after resolving symlinks and `..`).
    Inside,
    /// Outside it, but an existing folder that is empty or holds a stackdsl manifest.
    OutsideButOurs,
    /// Outside it, and missing or holding files stackdsl did not write.
    Outside,
}

/// Resolves `path` against `cwd`: symlinks of its existing part resolved, `.` and `..` of
/// the rest applied.
fn resolve(path: &Path, cwd: &Path) -> io::Result<PathBuf> {
    let full = cwd.join(path);
    let mut existing = full.as_path();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    while fs::symlink_metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            // `..` or `.` last, or the root: let canonicalize sort it out.
            _ => break,
        }
    }
    let mut out = fs::canonicalize(existing)?;
    for c in rest.iter().rev() {
        match c.to_str() {
            Some("..") => {
                out.pop();
            }
            Some(".") => {}
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Is `out_dir` inside the working folder `cwd`, or an outside folder stackdsl may write to
/// (an existing empty folder, or one holding [`manifest::FILE_NAME`])? The CLI refuses to
/// write to [`Location::Outside`] unless asked to, so a mistyped `--out /` or `--out ..`
/// cannot scatter files, or clean up stale ones, in an unrelated folder.
pub fn locate(out_dir: &Path, cwd: &Path) -> io::Result<Location> {
    let cwd = fs::canonicalize(cwd)?;
    let out = resolve(out_dir, &cwd)?;
    if out.starts_with(&cwd) {
        return Ok(Location::Inside);
    }
    let ours = match fs::read_dir(&out) {
        Ok(mut entries) => entries.next().is_none() || out.join(manifest::FILE_NAME).is_file(),
        Err(_) => false,
    };
    Ok(if ours {
        Location::OutsideButOurs
    } else {
        Location::Outside
    })
}

/// Counts of what [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Files created or updated, by stack.
    pub written: BTreeMap<String, usize>,
    /// Files already up to date, by stack.
    pub unchanged: BTreeMap<String, usize>,
    /// Stale files deleted, by stack.
    pub removed: BTreeMap<String, usize>,
    /// Generated files that had been edited by hand and were overwritten.
    pub overwritten_edits: Vec<String>,
    /// Stale files kept because they may not be ours.
    pub kept: Vec<String>,
    /// The manifest was missing or damaged and has been rebuilt.
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

/// Locks the output folder, plans against its current state and applies the plan.
pub fn synthesize(out_dir: &Path, outputs: &[Output], scope: &Scope) -> Result<Report, EmitError> {
    fs::create_dir_all(out_dir).map_err(io_err("creating folder", out_dir))?;
    let _lock = lock_dir(out_dir)?;
    let plan = plan(out_dir, outputs, scope)?;
    apply(&plan)
}

/// Carries out a plan. Callers normally use [`synthesize`], which holds the folder lock.
pub fn apply(plan: &Plan<'_>) -> Result<Report, EmitError> {
    let mut report = Report {
        kept: plan.kept.clone(),
        manifest_rebuilt: plan.manifest_damaged,
        ..Report::default()
    };
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
                if let Change::Update {
                    hand_edited: true,
                    path: rel,
                    ..
                } = c
                {
                    report.overwritten_edits.push(rel.clone());
                }
            }
            Change::Remove { .. } => {
                fs::remove_file(&path).map_err(io_err("removing", &path))?;
                *report.removed.entry(owner).or_default() += 1;
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
    Ok(report)
}
