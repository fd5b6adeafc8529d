//! Reading the output folder before a write: which folder `--out` is, whether it is one
//! we may write to, its manifest, and the marked files in it.

use super::*;

/// The content on disk of `doc`'s path under `root` (`None` if missing), for `--check`.
pub fn read_current(root: &Path, doc: &Document) -> Result<Option<String>, EmitError> {
    read_existing(&root.join(&doc.path))
}

/// Reads a file we may replace or remove. `Ok(None)` if it does not exist.
pub(super) fn read_existing(path: &Path) -> Result<Option<String>, EmitError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("inspecting", path)(e)),
        Ok(m) if m.file_type().is_symlink() => return Err(EmitError::Symlink(path.to_owned())),
        Ok(m) if !m.is_file() => return Err(EmitError::NotAFile(path.to_owned())),
        Ok(_) => {}
    }
    read_text(path).map(Some)
}

pub(super) fn read_text(path: &Path) -> Result<String, EmitError> {
    let bytes = fs::read(path).map_err(io_err("reading", path))?;
    // Non-UTF-8 content can never equal what we render; compare it lossily.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Checks that no existing component between `out_dir` and `rel`'s parent is a symlink or
/// a non-directory. Returns whether the parent folder exists.
pub(super) fn check_parents(out_dir: &Path, rel: &str) -> Result<bool, EmitError> {
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
pub(super) fn read_manifest(out_dir: &Path) -> Result<(String, Manifest, bool), EmitError> {
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
pub(super) fn out_dir_has_files(out_dir: &Path) -> bool {
    fs::read_dir(out_dir).is_ok_and(|d| {
        d.filter_map(Result::ok)
            .any(|e| !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
    })
}

/// Checks that `dir` may be an output folder (see [`NotOutput`]; the working-folder rule
/// needs the working folder and is [`locate`]'s). Returns whether it exists.
pub(super) fn check_output_folder(dir: &Path) -> Result<bool, EmitError> {
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
pub(super) fn head_has_marker(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) && crate::marker::has_marker(&head(path))
}

/// The first KiB of a file, where the marker is (lossy: the cut may split a character).
pub(super) fn head(path: &Path) -> String {
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
pub(super) fn scan_markers(
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
                && let Some((stack, env)) = crate::marker::owner(&head(&e.path()))
                && scope.owns(env, &stack)
            {
                found.insert(child_rel, (stack, env));
            }
        }
        Ok(())
    }
    walk(out_dir, "", scope, listed, found)
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
pub(super) fn resolve(path: &Path, cwd: &Path) -> Result<PathBuf, EmitError> {
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

/// Creates `dir` and its missing parents; returns those it created, deepest first.
pub(super) fn create_folder(dir: &Path) -> Result<Vec<PathBuf>, EmitError> {
    let created: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(dir).map_err(io_err("creating folder", dir))?;
    Ok(created)
}
