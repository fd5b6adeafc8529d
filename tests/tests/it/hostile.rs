//! Hostile states of the output folder: read-only, a file where a folder goes, a symlinked
//! folder pointing outside, a missing or corrupt manifest, two stacks claiming one folder.
//! Each test checks the message, the exit code, and that nothing else changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use stackdsl::cli::StackFn;
use stackdsl::prelude::*;
use stackdsl_tests::{CliRun, cli, tree};

fn small() -> Resources {
    Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(20), Memory::mi(32))
}

fn shop_with(env: Env, api_port: u16, with_db: bool) -> Stack {
    let mut s = Stack::new("shop", env);
    let http = Port::http("http", api_port);
    let mut api = Service::new("api")
        .image(Image::new("acme/shop-api").tag("1.0.0"))
        .security(Security::restricted().run_as_user(1000))
        .port(http)
        .readiness(Probe::http_get("/ready", http))
        // The image ships BusyBox: Compose renders the check (its URL follows the port).
        .health_tool(HealthTool::Wget)
        .resources(small());
    if with_db {
        let pg = Port::tcp("postgres", 5432);
        let pw = SecretRef::new("shop-secrets", "db-password");
        let db = s.add(
            Service::new("db")
                .image(Image::new("postgres").tag("17.2-alpine"))
                .security(Security::restricted().run_as_user(70))
                .port(pg)
                .env("POSTGRES_PASSWORD", &pw)
                .resources(small()),
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
    shop_with(env, 3000, true)
}

fn shop_port_changed(env: Env) -> Stack {
    shop_with(env, 3001, true)
}

fn shop_without_db(env: Env) -> Stack {
    shop_with(env, 3000, false)
}

fn other(env: Env) -> Stack {
    let mut s = Stack::new("other", env);
    s.add(
        Service::new("worker")
            .image(Image::new("acme/worker").tag("2.0.0"))
            .security(Security::restricted().run_as_user(1000))
            .resources(small()),
    );
    s
}

fn run(stacks: &[StackFn], out: &Path, extra: &[&str]) -> CliRun {
    run_env(Env::Dev, stacks, out, extra)
}

/// Runs the CLI on `out`, a temp folder outside the working folder (so `--allow-outside`).
fn run_env(env: Env, stacks: &[StackFn], out: &Path, extra: &[&str]) -> CliRun {
    let mut args = vec!["--out", out.to_str().expect("utf-8 path")];
    if !extra.contains(&"--check") {
        args.push("--allow-outside");
    }
    args.extend_from_slice(extra);
    cli(env, stacks, &args)
}

#[track_caller]
fn ok(r: &CliRun) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

#[track_caller]
fn failed(r: &CliRun, code: u8, message: &str) {
    assert_eq!(r.code, code, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(message),
        "expected {message:?} in:\n{}",
        r.stderr
    );
}

// --- A read-only output folder -------------------------------------------------------------

/// Makes folders unwritable for the duration of a test, and writable again on drop (so the
/// temp dir can be removed even when the test fails).
struct ReadOnly {
    dirs: Vec<PathBuf>,
    immutable: bool,
}

impl ReadOnly {
    /// Makes `dirs` unwritable: mode 0555, and, where that is not enforced (root), the
    /// immutable attribute (`chattr +i`, which binds root too). `None` if neither works.
    fn new(dirs: Vec<PathBuf>) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt as _;
        let mut guard = ReadOnly {
            dirs,
            immutable: false,
        };
        for d in &guard.dirs {
            fs::set_permissions(d, fs::Permissions::from_mode(0o555)).expect("chmod");
        }
        if !writable(&guard.dirs[0]) {
            return Some(guard);
        }
        let ok = Command::new("chattr")
            .arg("+i")
            .args(&guard.dirs)
            .status()
            .is_ok_and(|s| s.success());
        guard.immutable = ok;
        (ok && !writable(&guard.dirs[0])).then_some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").args(&self.dirs).status();
        }
        for d in &self.dirs {
            let _ = fs::set_permissions(d, fs::Permissions::from_mode(0o755));
        }
    }
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(".stackdsl-write-probe");
    let ok = fs::write(&probe, "x").is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

#[cfg(unix)]
#[test]
fn a_read_only_output_folder_fails_with_exit_3_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let before = tree(dir.path());
    let dirs = vec![
        dir.path().to_path_buf(),
        dir.path().join("shop"),
        dir.path().join("shop/dev"),
    ];
    let Some(guard) = ReadOnly::new(dirs) else {
        // Neither permissions nor the immutable attribute bind this user here: the one
        // assertion this test exists for cannot be made. Say so loudly, then fail rather
        // than pass silently when it is expected to run (CI).
        let msg = "HOSTILE-STATE TEST NOT RUN: cannot make a folder read-only here \
                   (running as root without chattr +i support)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        #[allow(clippy::print_stderr)]
        {
            eprintln!("\n!!! {msg} !!!\n");
        }
        return;
    };
    let r = run(&[shop_port_changed], dir.path(), &[]);
    failed(&r, 3, "error: creating a temp file in `");
    assert!(r.stderr.contains("/shop/dev`: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("note: nothing was written"),
        "{}",
        r.stderr
    );
    drop(guard);
    assert_eq!(tree(dir.path()), before, "a failed run changed the folder");
    // Writable again, the same run succeeds.
    ok(&run(&[shop_port_changed], dir.path(), &[]));
}

fn other_tagged(env: Env, tag: &str) -> Stack {
    let mut s = Stack::new("other", env);
    s.add(
        Service::new("worker")
            .image(Image::new("acme/worker").tag(tag))
            .security(Security::restricted().run_as_user(1000))
            .resources(small()),
    );
    s
}

fn other_v2(env: Env) -> Stack {
    other_tagged(env, "2.0.1")
}

fn other_v3(env: Env) -> Stack {
    other_tagged(env, "2.0.2")
}

/// A failure after writes began names what was written, and the manifest records it: the
/// next run, with other content again, does not take the file it wrote for a hand edit.
#[cfg(unix)]
#[test]
fn a_failure_after_writes_began_names_what_was_written_and_the_manifest_records_it() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop, other], dir.path(), &[]));
    let Some(guard) = ReadOnly::new(vec![dir.path().join("shop/dev")]) else {
        let msg = "HOSTILE-STATE TEST NOT RUN: cannot make a folder read-only here \
                   (running as root without chattr +i support)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        #[allow(clippy::print_stderr)]
        {
            eprintln!("\n!!! {msg} !!!\n");
        }
        return;
    };
    // `other/dev/compose.yaml` is written first (paths in order), then `shop/dev` fails.
    let r = run(&[shop_port_changed, other_v2], dir.path(), &[]);
    drop(guard);
    failed(&r, 3, "error: creating a temp file in `");
    let other_compose = dir.path().join("other/dev/compose.yaml");
    assert!(
        r.stderr.contains(&format!(
            "note: before the failure this run wrote 1 and removed 0 file(s), each complete (the manifest lists what was written): wrote {}",
            other_compose.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert!(
        fs::read_to_string(&other_compose)
            .unwrap()
            .contains("acme/worker:2.0.1")
    );
    // The manifest lists what the failed run wrote: a run with yet other content replaces
    // it as ours, without `--overwrite`.
    let r = run(&[shop_port_changed, other_v3], dir.path(), &[]);
    ok(&r);
    assert_eq!(r.stderr, "");
    ok(&run(
        &[shop_port_changed, other_v3],
        dir.path(),
        &["--check"],
    ));
}

// --- Something else where a folder goes ---------------------------------------------------

#[test]
fn a_file_where_a_folder_goes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[other], dir.path(), &[]));
    // `shop/` cannot be created: a file of that name is in the way.
    fs::write(dir.path().join("shop"), "a file of mine\n").unwrap();
    let before = tree(dir.path());
    let r = run(&[shop, other], dir.path(), &[]);
    failed(
        &r,
        3,
        &format!(
            "error: `{}` is not a folder, but generated files go inside it; refusing to replace it",
            dir.path().join("shop").display()
        ),
    );
    assert_eq!(tree(dir.path()), before);
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_pointing_outside_is_refused_and_the_outside_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    // Someone moves `shop/` elsewhere and leaves a symlink: the next run would update
    // compose.yaml and delete .env.example through it.
    let moved = outside.path().join("shop");
    fs::rename(dir.path().join("shop"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, dir.path().join("shop")).unwrap();
    fs::write(outside.path().join("precious.txt"), "mine\n").unwrap();
    let (before, outside_before) = (tree(dir.path()), tree(outside.path()));
    let link = dir.path().join("shop").display().to_string();
    for stack in [shop_without_db as StackFn, shop_port_changed] {
        let r = run(&[stack], dir.path(), &[]);
        failed(
            &r,
            3,
            &format!("error: `{link}` is a symbolic link; refusing to write through it"),
        );
        assert_eq!(tree(outside.path()), outside_before, "wrote outside out/");
        assert_eq!(tree(dir.path()), before);
        // --check refuses as well, with the same message.
        let check = run(&[stack], dir.path(), &["--check"]);
        failed(&check, 3, "is a symbolic link");
    }
}

// --- A missing or corrupt manifest ----------------------------------------------------------

/// Synthesizes `shop` in dev and prod, plus hand-written files, into a fresh folder.
fn populated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    ok(&run_env(Env::Prod, &[shop], dir.path(), &[]));
    fs::write(dir.path().join("NOTES.md"), "mine\n").unwrap();
    fs::write(dir.path().join("shop/dev/extra.yaml"), "mine: true\n").unwrap();
    dir
}

/// What the manifest lists: path → (env, stack).
fn manifest_entries(dir: &Path) -> BTreeMap<String, (String, String)> {
    let text = fs::read_to_string(dir.join(".stackdsl-manifest")).unwrap();
    let m = stackdsl::emit::manifest::Manifest::parse(&text);
    assert_eq!(m.bad_lines, 0, "{text}");
    m.entries
        .into_iter()
        .map(|(p, e)| (p, (e.env.to_string(), e.stack)))
        .collect()
}

/// Runs `shop_without_db` in dev over a folder whose manifest was damaged by `damage`, and
/// checks that nothing is replaced or deleted on the damaged manifest's word: the run asks
/// for `--overwrite` (the generated file it would replace is not provably ours), keeps the
/// stale marked file until `--prune`, and never touches hand-written files or another
/// environment's files.
fn rebuild_after(damage: impl FnOnce(&Path)) {
    let dir = populated();
    // A stale file with our marker: the damaged manifest cannot vouch for it any more.
    let env_example = dir.path().join("shop/dev/.env.example");
    let prod_env_example = dir.path().join("shop/prod/.env.example");
    let prod_compose = fs::read(dir.path().join("shop/prod/compose.yaml")).unwrap();
    let prod_example = fs::read(&prod_env_example).unwrap();
    damage(dir.path());
    if !dir.path().join(".stackdsl-manifest").exists() {
        // Without its manifest a folder with a file at its top (`NOTES.md`) is not an
        // output folder: refused, whatever the flags, and nothing changes.
        let before = tree(dir.path());
        let refused = run(&[shop_without_db], dir.path(), &["--overwrite", "--prune"]);
        failed(
            &refused,
            2,
            "holds `NOTES.md`, which stackdsl did not write, and no `.stackdsl-manifest`, so it is not an output folder; refusing to write there",
        );
        assert_eq!(tree(dir.path()), before);
        fs::rename(
            dir.path().join("NOTES.md"),
            dir.path().join("shop/dev/NOTES.md"),
        )
        .unwrap();
    }
    // `compose.yaml` changes, and no intact manifest shows it is ours: refused.
    let before = tree(dir.path());
    let refused = run(&[shop_without_db], dir.path(), &[]);
    failed(&refused, 2, "error: refusing to overwrite 1 file");
    assert!(
        refused.stderr.contains("shop/dev/compose.yaml: "),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("note: nothing was written"),
        "{}",
        refused.stderr
    );
    assert_eq!(tree(dir.path()), before);
    let r = run(&[shop_without_db], dir.path(), &["--overwrite"]);
    ok(&r);
    assert!(
        r.stderr.contains(
            "/.stackdsl-manifest` was missing or damaged, so nothing is deleted on its word"
        ),
        "{}",
        r.stderr
    );
    // Ours (marker, in scope), no longer generated, but nothing vouches for it: kept and
    // listed …
    assert!(
        env_example.exists(),
        "a stale file was deleted on a damaged manifest's word"
    );
    assert!(
        r.stderr.contains("shop/dev/.env.example` is not generated by this run and carries the stackdsl marker, but no intact manifest lists it"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: rerun with `--prune`"),
        "{}",
        r.stderr
    );
    // … until `--prune` confirms.
    let pruned = run(&[shop_without_db], dir.path(), &["--prune"]);
    ok(&pruned);
    assert!(!env_example.exists(), "--prune kept a stale marked file");
    assert!(
        pruned
            .stderr
            .contains("shop/dev/.env.example` (it carried the stackdsl marker"),
        "{}",
        pruned.stderr
    );
    // Not ours to touch: hand-written files and another environment's files.
    let notes = if dir.path().join("NOTES.md").exists() {
        "NOTES.md"
    } else {
        "shop/dev/NOTES.md"
    };
    assert_eq!(
        fs::read_to_string(dir.path().join(notes)).unwrap(),
        "mine\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("shop/dev/extra.yaml")).unwrap(),
        "mine: true\n"
    );
    assert_eq!(
        fs::read(dir.path().join("shop/prod/compose.yaml")).unwrap(),
        prod_compose
    );
    assert_eq!(fs::read(&prod_env_example).unwrap(), prod_example);
    // The rebuilt manifest lists what this run produced.
    let entries = manifest_entries(dir.path());
    let dev: Vec<&String> = entries
        .iter()
        .filter(|(_, (env, _))| env == "dev")
        .map(|(p, _)| p)
        .collect();
    assert_eq!(dev, ["shop/dev/compose.yaml"]);
    // And the next run is clean.
    let again = run(&[shop_without_db], dir.path(), &["--check"]);
    ok(&again);
}

#[test]
fn a_missing_manifest_is_rebuilt_without_deleting_files_it_cannot_prove_ours() {
    rebuild_after(|dir| fs::remove_file(dir.join(".stackdsl-manifest")).unwrap());
}

#[test]
fn a_corrupt_manifest_is_rebuilt_without_deleting_files_it_cannot_prove_ours() {
    rebuild_after(|dir| {
        let path = dir.join(".stackdsl-manifest");
        let text = fs::read_to_string(&path).unwrap();
        // Half-written, with garbage in between: every line it still has is untrusted.
        let cut = text.len() * 2 / 3;
        fs::write(&path, format!("garbage line\n{}", &text[..cut])).unwrap();
    });
}

#[test]
fn a_manifest_entry_for_a_hand_written_file_does_not_delete_it() {
    // A manifest line naming a file whose content is not what we wrote (hand-edited manifest,
    // or a file replaced since): kept and reported, never deleted.
    let dir = populated();
    let path = dir.path().join(".stackdsl-manifest");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "{}  dev  shop  shop/dev/extra.yaml\n",
        "0".repeat(64)
    ));
    fs::write(&path, text).unwrap();
    let r = run(&[shop], dir.path(), &[]);
    ok(&r);
    assert!(
        r.stderr
            .contains("shop/dev/extra.yaml` is no longer generated, but its content is not what stackdsl wrote and it has no stackdsl marker"),
        "{}",
        r.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("shop/dev/extra.yaml")).unwrap(),
        "mine: true\n"
    );
}

// --- Two stacks for one folder ------------------------------------------------------------

fn shop_again(env: Env) -> Stack {
    let mut s = Stack::new("shop", env);
    s.add(Service::new("web").image(Image::new("acme/web").tag("1.0.0")));
    s
}

#[test]
fn two_stacks_writing_one_folder_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[other], dir.path(), &[]));
    let before = tree(dir.path());
    let r = run(&[shop, other, shop_again], dir.path(), &[]);
    failed(
        &r,
        2,
        "error[duplicate-name]: shop: two stacks write `out/shop/dev/`",
    );
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert_eq!(tree(dir.path()), before);
    // Other environments write other folders: no clash between dev and prod of one stack.
    ok(&run_env(Env::Prod, &[shop], dir.path(), &[]));
    ok(&run(&[shop], dir.path(), &[]));
    assert!(dir.path().join("shop/dev/compose.yaml").is_file());
    assert!(dir.path().join("shop/prod/compose.yaml").is_file());
}

fn escaping(env: Env) -> Stack {
    let mut s = Stack::new("../escape", env);
    s.add(Service::new("api").image(Image::new("acme/api").tag("1.0.0")));
    s
}

#[test]
fn a_stack_name_that_would_leave_the_folder_is_invalid() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    fs::create_dir(&dir).unwrap();
    let r = run(&[escaping], &dir, &[]);
    failed(
        &r,
        2,
        "error[invalid-name]: ../escape: stack name `../escape`",
    );
    assert_eq!(
        tree(parent.path()),
        BTreeMap::new(),
        "something was written"
    );
    assert!(!parent.path().join("escape").exists());
}

// --- A manifest that lies -------------------------------------------------------------------

#[test]
fn a_manifest_line_naming_a_path_outside_the_folder_touches_nothing_there() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    fs::create_dir(&out).unwrap();
    ok(&run(&[shop], &out, &[]));
    let victim = parent.path().join("victim.txt");
    fs::write(&victim, "precious\n").unwrap();
    let hash = stackdsl::hash::sha256_hex(b"precious\n");
    let manifest = out.join(".stackdsl-manifest");
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!("{hash}  dev  shop  ../victim.txt\n"));
    text.push_str(&format!("{hash}  dev  shop  {}\n", victim.display()));
    fs::write(&manifest, text).unwrap();
    // `.env.example` is no longer generated: the damaged manifest cannot delete it either.
    let r = run(&[shop_without_db], &out, &[]);
    ok(&r);
    assert!(
        r.stderr
            .contains("was missing or damaged, so nothing is deleted on its word"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(out.join("shop/dev/.env.example").is_file());
}

#[test]
fn a_folder_where_the_manifest_lists_a_stale_file_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let env_example = dir.path().join("shop/dev/.env.example");
    fs::remove_file(&env_example).unwrap();
    fs::create_dir(&env_example).unwrap();
    fs::write(env_example.join("mine.txt"), "mine\n").unwrap();
    let r = run(&[shop_without_db], dir.path(), &[]);
    ok(&r);
    assert!(
        r.stderr.contains(&format!(
            "`{}` is listed in the manifest but is not a regular file: left alone",
            env_example.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(
        fs::read_to_string(env_example.join("mine.txt")).unwrap(),
        "mine\n"
    );
}
