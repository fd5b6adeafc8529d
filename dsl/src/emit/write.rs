//! Carrying a plan out: atomic writes, whole new folders renamed into place, temp-file
//! clean-up, and the manifest written last.

use super::*;

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
        Some(old) if !crate::marker::has_marker(&old) => Err(EmitError::NotOurs(path)),
        _ => write_atomic(&path, doc.contents.as_bytes()).map(|()| true),
    }
}

/// Writes `contents` to `path` atomically: temp file in the same folder, then rename.
pub(super) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), EmitError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("creating folder", dir))?;
    write_atomic_in(dir, path, contents)
}

/// [`write_atomic`] into `dir`, the existing folder of `path`.
pub(super) fn write_atomic_in(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), EmitError> {
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
pub(super) fn clean_temp_files(dir: &Path) {
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
pub(super) fn write_new_folder(
    out_dir: &Path,
    top: &str,
    files: &[(&str, &str)],
) -> Result<(), EmitError> {
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
pub(super) fn temp_folder(parent: &Path) -> Result<PathBuf, EmitError> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        ^ u128::from(std::process::id());
    temp_folder_from(parent, seed)
}

/// [`temp_folder`] with its first candidate name fixed by `seed`: a name that is taken
/// moves on to the next, up to 100 tries.
pub(super) fn temp_folder_from(parent: &Path, seed: u128) -> Result<PathBuf, EmitError> {
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
pub(super) fn set_mode(f: &fs::File, path: &Path) -> Result<(), EmitError> {
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
pub(super) fn top_missing<'a>(
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
pub(super) fn record_progress(plan: &WritePlan<'_>, written: &[&str], removed: &[&str]) {
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

pub(super) fn apply_changes<'p>(
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
    if plan.manifest_changed() {
        let path = plan.out_dir.join(manifest::FILE_NAME);
        if plan.new_manifest.is_empty() {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_err("removing", &path)(e));
                }
                _ => {}
            }
        } else {
            write_atomic(&path, plan.new_manifest.as_bytes())?;
        }
    }
    Ok(())
}
