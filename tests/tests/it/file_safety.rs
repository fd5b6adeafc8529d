//! Issue 19, "never lose a user's file": one regression test per finding of the hostile-user
//! audit of commit 314103a, each checked to fail there and pass now.
//!
//! 1. `stack-prod --out .` from the repository root deleted every prod file that carried the
//!    marker: `out/`, the example crate's output, a user's copy in `docs/`.
//! 2. A user's own file at a path we generate was overwritten (exit 0).
//! 3. With the manifest damaged or missing, users' copies of generated files (which keep the
//!    marker) were deleted.
//! 4. `--out` to an outside folder holding another project's manifest was accepted, and
//!    that project's files were deleted.
//! 8. `--out ./out/../out` (folder missing) failed with an I/O error naming no path, also
//!    in concurrent runs; refusals before any write said "files written before the failure
//!    are complete".
//!
//! Tests that depend on the working folder run `stack-prod-here` (the real `stack-prod`,
//! built in this crate) as a process in a temp folder; the others run the CLI in-process on
//! temp folders. Nothing here runs in, or can write to, a real system folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use stackdsl::prelude::*;
use stackdsl_tests::{CliRun, cli, tree};

fn shop_with(env: Env, with_db: bool) -> Stack {
    let mut s = Stack::new("shop", env);
    let http = Port::http("http", 3000);
    let mut api = Service::new("api")
        .image(Image::new("acme/shop-api").tag("1.0.0"))
        .port(http)
        .readiness(Probe::http_get("/ready", http));
    if with_db {
        let pg = Port::tcp("postgres", 5432);
        let pw = SecretRef::new("shop-secrets", "db-password");
        let db = s.add(
            Service::new("db")
                .image(Image::new("postgres").tag("17.2-alpine"))
                .security(Security::restricted().run_as_user(70))
                .port(pg)
                .env("POSTGRES_PASSWORD", &pw),
        );
        api = api.env(
            "DATABASE_URL",
            db.endpoint(pg).url().user("shop").password(&pw),
        );
    }
    s.add(api);
    s
}

fn shop(env: Env) -> Stack {
    shop_with(env, true)
}

/// Without the database nothing needs a secret, so `.env.example` is not generated.
fn shop_without_db(env: Env) -> Stack {
    shop_with(env, false)
}

fn other(env: Env) -> Stack {
    let mut s = Stack::new("other", env);
    s.add(Service::new("worker").image(Image::new("acme/worker").tag("2.0.0")));
    s
}

/// The CLI in-process (dev) on `out`, a temp folder, so outside the working folder.
fn run(stacks: &[stackdsl::cli::StackFn], out: &Path, extra: &[&str]) -> CliRun {
    let mut args = vec![
        "--out",
        out.to_str().expect("utf-8 path"),
        "--allow-outside",
    ];
    args.extend_from_slice(extra);
    cli(Env::Dev, stacks, &args)
}

/// `stack-prod` (every seed stack) run as a process in `cwd`.
fn prod_here(cwd: &Path, args: &[&str]) -> CliRun {
    let out = Command::new(env!("CARGO_BIN_EXE_stack-prod-here"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stack-prod-here");
    CliRun {
        code: out
            .status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(255),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn ok(r: &CliRun) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

#[track_caller]
fn refused(r: &CliRun, message: &str) {
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(message),
        "expected {message:?} in:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("nothing was written"),
        "a refusal must say nothing was written:\n{}",
        r.stderr
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let path = to.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        fs::write(path, bytes).expect("copy file");
    }
}

/// `<tmp>/repo`, a stacks repository as a user has it: `Cargo.toml`, `.git/`, `src/`,
/// `out/` written by `stack-prod` run from it, the example crate's own committed output
/// (a second output folder with its manifest), and `docs/example-compose.yaml`, a copy of
/// a generated file (so it carries the marker). `<tmp>` also holds a file of its own.
fn fake_repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join(".git/refs/heads")).unwrap();
    fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(repo.join("Cargo.toml"), "[package]\nname = \"mine\"\n").unwrap();
    fs::create_dir_all(repo.join("src")).unwrap();
    fs::write(repo.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(tmp.path().join("beside.txt"), "beside the repository\n").unwrap();
    ok(&prod_here(&repo, &[]));
    assert!(repo.join("out/.stackdsl-manifest").is_file());
    let example = repo.join("examples/consumer");
    fs::create_dir_all(&example).unwrap();
    fs::write(
        example.join("Cargo.toml"),
        "[package]\nname = \"consumer\"\n",
    )
    .unwrap();
    copy_dir(&repo.join("out"), &example.join("out"));
    let compose = tree(&repo.join("out"))
        .into_keys()
        .find(|p| p.ends_with("/prod/compose.yaml"))
        .expect("a prod compose.yaml");
    fs::create_dir_all(repo.join("docs")).unwrap();
    fs::copy(
        repo.join("out").join(compose),
        repo.join("docs/example-compose.yaml"),
    )
    .unwrap();
    (tmp, repo)
}

// --- Finding 1 -----------------------------------------------------------------------------

#[test]
fn out_dot_from_a_repository_root_is_refused_and_nothing_is_deleted() {
    let (tmp, repo) = fake_repo();
    let before = tree(tmp.path());
    let files = before.len();
    assert!(files > 100, "expected a real repository, got {files} files");
    let r = prod_here(&repo, &["--out", "."]);
    refused(&r, "is the folder this command runs in");
    assert_eq!(tree(tmp.path()), before, "`--out .` changed the repository");
    // No flag turns a repository into an output folder.
    let r = prod_here(
        &repo,
        &["--out", ".", "--allow-outside", "--overwrite", "--prune"],
    );
    refused(&r, "refusing to write there");
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn out_values_that_are_not_output_folders_are_refused_from_a_repository_root() {
    let (tmp, repo) = fake_repo();
    let before = tree(tmp.path());
    for (out, message) in [
        ("out/..", "is the folder this command runs in"),
        ("./out/../.", "is the folder this command runs in"),
        ("..", "is the folder this command runs in"),
        (".git", "is inside a `.git` folder"),
        (".git/new", "is inside a `.git` folder"),
        ("src", "holds `main.rs`, which stackdsl did not write"),
        (
            "docs",
            "holds `example-compose.yaml`, which stackdsl did not write",
        ),
        ("examples", "so it is a project, not an output folder"),
        ("Cargo.toml", "exists and is not a folder"),
    ] {
        let r = prod_here(&repo, &["--out", out, "--allow-outside"]);
        refused(&r, message);
        assert!(r.stderr.contains(&format!("`--out {out}`")), "{}", r.stderr);
        assert_eq!(tree(tmp.path()), before, "`--out {out}` changed something");
    }
    // The repository's own output folder and a new folder inside it are fine.
    ok(&prod_here(&repo, &["--out", "out"]));
    ok(&prod_here(&repo, &["--out", "./out/../out"]));
    assert_eq!(tree(tmp.path()), before);
    ok(&prod_here(&repo, &["--out", "build/out"]));
    assert!(repo.join("build/out/.stackdsl-manifest").is_file());
}

/// "Safe when run from `/`": a temp folder stands in for the root (its parent holds a file
/// of its own, so `..` is watched too).
#[test]
fn run_from_a_root_folder_writes_only_a_new_output_folder() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("root");
    for (path, text) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("home/me/.bashrc", "alias ll='ls -l'\n"),
        ("usr/bin/tool", "#!/bin/sh\n"),
        ("srv/app/compose.yaml", "services: {}\n"),
    ] {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    fs::write(tmp.path().join("beside.txt"), "outside the root\n").unwrap();
    let before = tree(tmp.path());
    for (out, message) in [
        (".", "is the folder this command runs in"),
        ("..", "is the folder this command runs in"),
        ("etc", "holds `passwd`, which stackdsl did not write"),
        ("home", "holds `me/.bashrc`, which stackdsl did not write"),
        ("home/me", "holds `.bashrc`, which stackdsl did not write"),
        ("usr", "holds `bin/tool`, which stackdsl did not write"),
        (
            "srv",
            "holds `app/compose.yaml`, which stackdsl did not write",
        ),
    ] {
        for extra in [&[][..], &["--allow-outside", "--overwrite", "--prune"]] {
            let mut args = vec!["--out", out];
            args.extend_from_slice(extra);
            let r = prod_here(&root, &args);
            refused(&r, message);
        }
        assert_eq!(tree(tmp.path()), before, "`--out {out}` changed something");
    }
    // The default `out`, new: written there and nowhere else.
    ok(&prod_here(&root, &[]));
    let mut after = tree(tmp.path());
    after.retain(|p, _| !p.starts_with("root/out/"));
    assert_eq!(after, before);
    assert!(root.join("out/.stackdsl-manifest").is_file());
}

// --- Finding 2 -----------------------------------------------------------------------------

#[test]
fn a_users_file_at_a_generated_path_is_not_overwritten_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop_without_db], dir.path(), &[]));
    // The user keeps their own `.env.example` there (no marker; the manifest does not list
    // it); then the stack gains a secret, and `.env.example` becomes a generated path.
    let mine = dir.path().join("shop/dev/.env.example");
    fs::write(&mine, "# my local values\nDB_PASSWORD=only-on-my-laptop\n").unwrap();
    let before = tree(dir.path());
    let r = run(&[shop], dir.path(), &[]);
    refused(&r, "error: refusing to overwrite 1 file");
    assert!(
        r.stderr.contains(&format!(
            "{}: not written by stackdsl (the manifest does not list it)",
            mine.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(tree(dir.path()), before, "a refused run changed the folder");
    // `--overwrite` is the explicit way through, and says what it replaced.
    let r = run(&[shop], dir.path(), &["--overwrite"]);
    ok(&r);
    assert!(
        r.stderr
            .contains(&format!("warning: replaced `{}`", mine.display())),
        "{}",
        r.stderr
    );
    assert!(
        fs::read_to_string(&mine)
            .unwrap()
            .starts_with("# Generated by stackdsl")
    );

    // The same in a folder stackdsl never wrote to (no manifest at all).
    let fresh = tempfile::tempdir().unwrap();
    let theirs = fresh.path().join("shop/dev/compose.yaml");
    fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    fs::write(&theirs, "services:\n  mine: {}\n").unwrap();
    let before = tree(fresh.path());
    refused(
        &run(&[shop], fresh.path(), &[]),
        "compose.yaml: not written by stackdsl",
    );
    assert_eq!(tree(fresh.path()), before);
}

// --- Finding 3 -----------------------------------------------------------------------------

/// Synthesizes `shop`, copies `compose.yaml` to `compose.override.yaml` and
/// `compose.local.yaml` (copies keep the marker), applies `damage` to the manifest, and
/// reruns the same stack: the copies survive, are listed, and go only with `--prune`.
fn copies_survive(damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let compose = fs::read(dir.path().join("shop/dev/compose.yaml")).unwrap();
    let copies = ["compose.override.yaml", "compose.local.yaml"]
        .map(|name| dir.path().join("shop/dev").join(name));
    for copy in &copies {
        fs::write(copy, &compose).unwrap();
    }
    damage(dir.path());
    let r = run(&[shop], dir.path(), &[]);
    ok(&r);
    for copy in &copies {
        assert_eq!(
            fs::read(copy).ok().as_deref(),
            Some(&compose[..]),
            "`{}` was deleted on a damaged manifest's word\n{}",
            copy.display(),
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!(
                "`{}` is not generated by this run and carries the stackdsl marker, but no intact manifest lists it, so it may be a copy of yours: kept",
                copy.display()
            )),
            "{}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains("hint: rerun with `--prune`"),
        "{}",
        r.stderr
    );
    // The manifest is whole again, and still does not claim the copies: kept again.
    let again = run(&[shop], dir.path(), &[]);
    ok(&again);
    assert!(copies.iter().all(|c| c.exists()));
    // Only the confirming flag removes them.
    let pruned = run(&[shop], dir.path(), &["--prune"]);
    ok(&pruned);
    for copy in &copies {
        assert!(!copy.exists(), "--prune kept `{}`", copy.display());
    }
    assert_eq!(
        fs::read(dir.path().join("shop/dev/compose.yaml")).unwrap(),
        compose
    );
}

#[test]
fn copies_of_generated_files_survive_a_manifest_with_merge_conflict_markers() {
    copies_survive(|dir| {
        let path = dir.join(".stackdsl-manifest");
        let text = fs::read_to_string(&path).unwrap();
        let line = text
            .lines()
            .find(|l| l.ends_with("shop/dev/compose.yaml"))
            .unwrap()
            .to_owned();
        let theirs = format!("{}{}", "f".repeat(64), &line[64..]);
        let conflicted = text.replace(
            &line,
            &format!("<<<<<<< HEAD\n{line}\n=======\n{theirs}\n>>>>>>> feature"),
        );
        fs::write(&path, conflicted).unwrap();
    });
}

#[test]
fn copies_of_generated_files_survive_a_deleted_manifest() {
    copies_survive(|dir| fs::remove_file(dir.join(".stackdsl-manifest")).unwrap());
}

#[test]
fn copies_of_generated_files_survive_a_first_run_killed_before_its_manifest() {
    // What a first run killed after renaming its folder into place, before writing the
    // manifest, leaves (see crash.rs): the files, no manifest, and a temp folder of a
    // folder it had not finished.
    copies_survive(|dir| {
        fs::remove_file(dir.join(".stackdsl-manifest")).unwrap();
        let temp = dir.join(".stackdsl-tmp-1f2e3d/dev");
        fs::create_dir_all(&temp).unwrap();
        fs::write(temp.join("compose.yaml"), "half").unwrap();
    });
}

// --- Finding 4 -----------------------------------------------------------------------------

#[test]
fn an_outside_folder_with_another_projects_manifest_needs_allow_outside() {
    let theirs = tempfile::tempdir().unwrap();
    ok(&run(&[other], theirs.path(), &[]));
    assert!(theirs.path().join("other/dev/compose.yaml").is_file());
    let before = tree(theirs.path());
    // Our stacks, their folder: this run would own their dev files and delete them.
    let r = cli(
        Env::Dev,
        &[shop],
        &["--out", theirs.path().to_str().unwrap()],
    );
    refused(&r, "which is outside the current folder");
    assert!(r.stderr.contains("pass `--allow-outside`"), "{}", r.stderr);
    assert_eq!(
        tree(theirs.path()),
        before,
        "another project's files changed"
    );
}

// --- Finding 8 -----------------------------------------------------------------------------

#[test]
fn out_through_dot_dot_of_a_missing_folder_is_resolved_and_creates_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    for (out, made) in [("./out/../out", "out"), ("missing/../out2", "out2")] {
        let r = prod_here(tmp.path(), &["--out", out]);
        ok(&r);
        assert!(
            tmp.path().join(made).join(".stackdsl-manifest").is_file(),
            "`--out {out}` did not write `{made}`"
        );
    }
    assert!(
        !tmp.path().join("missing").exists(),
        "`missing/` was created"
    );
    // A path through a file names the file.
    fs::write(tmp.path().join("notes.txt"), "mine\n").unwrap();
    let r = prod_here(tmp.path(), &["--out", "notes.txt/../out3"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "`{}`: not a directory",
            tmp.path()
                .canonicalize()
                .unwrap()
                .join("notes.txt")
                .display()
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
}

#[test]
fn twenty_concurrent_first_runs_through_dot_dot_all_succeed_with_one_result() {
    let reference = tempfile::tempdir().unwrap();
    ok(&prod_here(reference.path(), &[]));
    let expected = tree(&reference.path().join("out"));
    let tmp = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..20)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_stack-prod-here"))
                .args(["--out", "./out/../out", "--quiet"])
                .current_dir(tmp.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn stack-prod-here")
        })
        .collect();
    let failed: Vec<String> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 20 runs failed: {failed:?}",
        failed.len()
    );
    assert_eq!(tree(&tmp.path().join("out")), expected);
}

#[cfg(unix)]
#[test]
fn a_refusal_before_any_write_says_nothing_was_written() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let compose = dir.path().join("shop/dev/compose.yaml");
    fs::remove_file(&compose).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere.yaml"), &compose).unwrap();
    let before = tree(dir.path());
    let r = run(&[shop_without_db], dir.path(), &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "error: `{}` is a symbolic link; refusing to write through it",
            compose.display()
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("note: nothing was written"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("files written before the failure"),
        "{}",
        r.stderr
    );
    assert_eq!(tree(dir.path()), before);
}
