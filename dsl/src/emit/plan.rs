//! Planning a write: what each output does to the folder, and whose each file is.

use super::*;

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
        let new_hash = crate::hash::sha256_hex(o.doc.contents.as_bytes());
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
                    Some(e) if e.hash == crate::hash::sha256_hex(old.as_bytes()) => Ownership::Ours,
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
        let ours = listed_hash.is_some_and(|h| h == crate::hash::sha256_hex(old.as_bytes()));
        let marked = crate::marker::owner(&old).is_some_and(|(s, e)| s == stack && e == env);
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
    let new_manifest = if manifest.entries.is_empty() {
        String::new()
    } else {
        manifest.render()
    };
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
        new_manifest,
    })
}
