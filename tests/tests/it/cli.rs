//! The command line and the output folder: `--check`, nothing written on invalid input,
//! safe clean-up, filters and refusals.

use std::fs;
use std::path::Path;

use stackdsl::prelude::*;
use stackdsl_tests::{CliRun, cli, tree};

fn shop_with(env: Env, api_port: u16, with_db: bool) -> Stack {
    let mut s = Stack::new("shop", env);
    let http = Port::http("http", api_port);
    let mut api = Service::new("api")
        .image(Image::new("acme/shop-api").tag("1.0.0"))
        .security(Security::restricted().run_as_user(1000))
        .port(http)
        .publish(http, api_port)
        .readiness(Probe::http_get("/ready", http))
        // The image ships BusyBox: Compose renders the check (its URL follows the port).
        .health_tool(HealthTool::Wget);
    if with_db {
        let pg = Port::tcp("postgres", 5432);
        let pw =
            SecretRef::new("shop-secrets", "db-password").describe("Password of the shop role");
        let db = s.add(
            Service::new("db")
                .image(Image::new("postgres").tag("17.2-alpine"))
                .security(Security::restricted().run_as_user(70))
                .port(pg)
                .env("POSTGRES_PASSWORD", &pw)
                .readiness(Probe::exec(["pg_isready"])),
        );
        api = api.env(
            "DATABASE_URL",
            db.endpoint(pg)
                .url()
                .scheme("postgresql")
                .user("shop")
                .password(&pw)
                .path("/shop"),
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
            .resources(
                Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(20), Memory::mi(32)),
            ),
    );
    s
}

/// Two services named `api`, one named `API_1`, and a host-port clash.
fn broken(env: Env) -> Stack {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", env);
    s.add(
        Service::new("api")
            .image(Image::new("acme/a").tag("1"))
            .port(http)
            .publish(http, 8080),
    );
    s.add(Service::new("api").image(Image::new("acme/b").tag("1")));
    s.add(
        Service::new("API_1")
            .image(Image::new("acme/c").tag("1"))
            .port(http)
            .publish(http, 8080),
    );
    s
}

/// `shop` with an override through a handle of another stack it never included.
fn shop_with_misdirected_update(env: Env) -> Stack {
    let mut billing = Stack::new("billing", env);
    let ledger = billing.add(Service::new("ledger").image(Image::new("acme/ledger").tag("3.1.0")));
    let mut s = shop(env);
    s.update(&ledger, |b| b.replicas(2));
    s
}

/// Runs the CLI on `out`, a temp folder outside the working folder (so `--allow-outside`).
fn run(stacks: &[stackdsl::cli::StackFn], out: &Path, extra: &[&str]) -> CliRun {
    let out = out.to_str().unwrap();
    let mut args = vec!["--out", out];
    if !extra.contains(&"--check") && !extra.contains(&"--list") {
        args.push("--allow-outside");
    }
    args.extend_from_slice(extra);
    cli(Env::Dev, stacks, &args)
}

fn ok(r: &CliRun) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

#[test]
fn first_run_writes_and_second_reports_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(&[shop], dir.path(), &[]);
    ok(&first);
    assert!(
        first
            .stdout
            .contains("shop/dev: 2 written, 0 unchanged, 0 removed"),
        "{}",
        first.stdout
    );
    let second = run(&[shop], dir.path(), &[]);
    ok(&second);
    assert!(
        second
            .stdout
            .contains("shop/dev: 0 written, 2 unchanged, 0 removed"),
        "{}",
        second.stdout
    );
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(
        files,
        [
            ".stackdsl-manifest",
            "shop/dev/.env.example",
            "shop/dev/compose.yaml"
        ]
    );
}

#[test]
fn check_prints_a_diff_names_the_fix_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let before = tree(dir.path());
    let clean = run(&[shop], dir.path(), &["--check"]);
    ok(&clean);
    assert!(clean.stdout.contains("up to date"), "{}", clean.stdout);

    let stale = run(&[shop_port_changed], dir.path(), &["--check"]);
    assert_eq!(stale.code, 1, "{stale:?}");
    let file = format!("{}/shop/dev/compose.yaml", dir.path().display());
    assert!(
        stale
            .stdout
            .contains(&format!("--- a/{file}\n+++ b/{file}\n")),
        "{}",
        stale.stdout
    );
    assert!(
        stale
            .stdout
            .contains("\n-      - \"127.0.0.1:3000:3000\"\n"),
        "{}",
        stale.stdout
    );
    assert!(
        stale
            .stdout
            .contains("\n+      - \"127.0.0.1:3001:3001\"\n"),
        "{}",
        stale.stdout
    );
    assert!(
        stale
            .stdout
            .contains("\n+        - http://127.0.0.1:3001/ready\n"),
        "{}",
        stale.stdout
    );
    assert!(
        stale
            .stderr
            .contains("Run `cargo run --bin stack-dev` to update it."),
        "{}",
        stale.stderr
    );
    assert!(
        !stale.stdout.contains('\u{1b}'),
        "no colour when not asked for"
    );
    assert_eq!(
        tree(dir.path()),
        before,
        "--check wrote to the output folder"
    );

    let coloured = run(
        &[shop_port_changed],
        dir.path(),
        &["--check", "--color", "always"],
    );
    assert!(
        coloured
            .stdout
            .contains("\u{1b}[31m-      - \"127.0.0.1:3000:3000\""),
        "{}",
        coloured.stdout
    );
}

/// Files up to date but the manifest lost: `--check` fails and shows the manifest it would
/// write back, line by line.
#[test]
fn check_shows_a_lost_manifest_as_its_only_change() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let manifest = dir.path().join(".stackdsl-manifest");
    let written = fs::read_to_string(&manifest).unwrap();
    fs::remove_file(&manifest).unwrap();
    let r = run(&[shop], dir.path(), &["--check"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(".stackdsl-manifest"), "{}", r.stdout);
    for line in written.lines() {
        assert!(
            r.stdout.contains(&format!("+{line}")),
            "the diff lacks `+{line}`:\n{}",
            r.stdout
        );
    }
    assert!(!manifest.exists(), "--check wrote the manifest");
}

/// `--check` against an output folder that does not exist yet (CI before the first
/// synthesis): every file is new, and the folder is still not there afterwards.
#[test]
fn check_on_a_missing_folder_lists_every_file_as_new_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("not-yet");
    // With `--prune` the plan also looks for marked files there: there is no folder to read.
    for extra in [&["--check"][..], &["--check", "--prune"]] {
        let r = run(&[shop], &out, extra);
        assert_eq!(r.code, 1, "{extra:?}\n{}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("shop/dev/compose.yaml"), "{}", r.stdout);
        assert!(!out.exists(), "{extra:?} created the output folder");
    }
}

#[test]
fn check_on_an_empty_folder_lists_every_file_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[shop], dir.path(), &["--check"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("--- /dev/null\n+++ b/"), "{}", r.stdout);
    assert!(r.stderr.contains("2 files would change"), "{}", r.stderr);
    assert!(tree(dir.path()).is_empty());
}

fn normalise_lines(text: &str) -> String {
    // Source line numbers change whenever this file is edited; the snapshot keeps the file.
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("cli.rs:") {
        out.push_str(&rest[..i + 7]);
        rest = rest[i + 7..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push_str("LINE");
    }
    out.push_str(rest);
    out
}

#[test]
fn invalid_stack_reports_every_error_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let before = tree(dir.path());
    let r = run(&[broken], dir.path(), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        tree(dir.path()),
        before,
        "an invalid run changed the output folder"
    );
    insta::assert_snapshot!(normalise_lines(&r.stderr));
    // --check reports the same errors.
    assert_eq!(run(&[broken], dir.path(), &["--check"]).code, 2);
}

#[test]
fn hand_written_files_survive_and_files_no_longer_generated_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    fs::write(dir.path().join("NOTES.md"), "written by hand\n").unwrap();
    fs::write(dir.path().join("shop/dev/NOTES.md"), "also by hand\n").unwrap();
    // Without the database the stack needs no secrets, so `.env.example` is not generated.
    let r = run(&[shop_without_db], dir.path(), &[]);
    ok(&r);
    assert!(
        r.stdout
            .contains("shop/dev: 1 written, 0 unchanged, 1 removed"),
        "{}",
        r.stdout
    );
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(
        files,
        [
            ".stackdsl-manifest",
            "NOTES.md",
            "shop/dev/NOTES.md",
            "shop/dev/compose.yaml"
        ]
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("NOTES.md")).unwrap(),
        "written by hand\n"
    );
}

#[test]
fn a_stale_file_without_our_marker_is_kept_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let env_example = dir.path().join("shop/dev/.env.example");
    fs::write(&env_example, "MY_OWN=notes\n").unwrap();
    let r = run(&[shop_without_db], dir.path(), &[]);
    ok(&r);
    assert_eq!(fs::read_to_string(&env_example).unwrap(), "MY_OWN=notes\n");
    assert!(
        r.stderr
            .contains("shop/dev/.env.example` is no longer generated, but its content is not what stackdsl wrote and it has no stackdsl marker"),
        "{}",
        r.stderr
    );
    // It is no longer ours: later runs do not mention it.
    let again = run(&[shop_without_db], dir.path(), &[]);
    assert_eq!(again.stderr, "");
}

/// `--prune` deletes stale files that are still ours (the marker, or our content), never
/// one the user edited and took the marker out of.
#[test]
fn prune_keeps_a_stale_file_whose_marker_the_user_removed() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let env_example = dir.path().join("shop/dev/.env.example");
    let generated = fs::read_to_string(&env_example).unwrap();
    let edited: String = generated
        .lines()
        .filter(|l| !l.contains("Generated by stackdsl"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(edited, generated, "the marker line was not found");
    fs::write(&env_example, &edited).unwrap();
    let r = run(&[shop_without_db], dir.path(), &["--prune"]);
    ok(&r);
    assert_eq!(
        fs::read_to_string(&env_example).ok().as_deref(),
        Some(edited.as_str()),
        "--prune deleted a file without our marker\n{}",
        r.stderr
    );
}

#[test]
fn removing_a_stack_removes_its_files_and_empty_folders() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop, other], dir.path(), &[]));
    assert!(dir.path().join("other/dev/compose.yaml").exists());
    let r = run(&[shop], dir.path(), &[]);
    ok(&r);
    assert!(
        r.stdout
            .contains("other/dev: 0 written, 0 unchanged, 1 removed"),
        "{}",
        r.stdout
    );
    assert!(
        !dir.path().join("other").exists(),
        "empty folders of a removed stack remain"
    );
}

#[test]
fn stack_filter_touches_only_that_stack() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop, other], dir.path(), &[]));
    // Filtered runs must not treat unlisted stacks as removed.
    let r = run(&[shop_without_db, other], dir.path(), &["--stack", "other"]);
    ok(&r);
    assert!(
        dir.path().join("shop/dev/.env.example").exists(),
        "a filtered run removed another stack's file"
    );
    assert!(!r.stdout.contains("shop/dev"), "{}", r.stdout);
    let unknown = run(&[shop, other], dir.path(), &["--stack", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("unknown stack `nope`; known stacks: shop, other"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn other_environments_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = ["--out", out, "--allow-outside"];
    assert_eq!(cli(Env::Dev, &[shop], &args).code, 0);
    assert_eq!(cli(Env::Prod, &[other], &args).code, 0);
    assert!(dir.path().join("shop/dev/compose.yaml").exists());
    assert!(dir.path().join("other/prod/compose.yaml").exists());
    // The prod run also owns the stack's architecture README.
    assert!(dir.path().join("other/README.md").exists());
    let manifest = fs::read_to_string(dir.path().join(".stackdsl-manifest")).unwrap();
    assert_eq!(
        manifest.lines().filter(|l| !l.starts_with('#')).count(),
        4,
        "{manifest}"
    );
}

#[test]
fn a_hand_edit_of_a_generated_file_is_shown_by_check_and_replaced_only_with_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let compose = dir.path().join("shop/dev/compose.yaml");
    let original = fs::read_to_string(&compose).unwrap();
    let edited = original.replace("restart: unless-stopped", "restart: always");
    fs::write(&compose, &edited).unwrap();
    let check = run(&[shop], dir.path(), &["--check"]);
    assert_eq!(check.code, 1);
    assert!(
        check
            .stdout
            .contains("-    restart: always\n+    restart: unless-stopped"),
        "{}",
        check.stdout
    );
    assert!(
        check.stderr.contains(&format!(
            "note: that run will refuse to overwrite 1 file whose content stackdsl did not write (add `--overwrite` to replace them):\n    {}: edited since stackdsl wrote it",
            compose.display()
        )),
        "{}",
        check.stderr
    );
    // The edit is the user's work: the run names it, writes nothing and exits 2 …
    let before = tree(dir.path());
    let r = run(&[shop_port_changed], dir.path(), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "error: refusing to overwrite 1 file whose content stackdsl did not write:\n    {}: edited since stackdsl wrote it\n  note: nothing was written\n  hint: `git diff` shows what changed",
            compose.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(tree(dir.path()), before, "a refused run changed the folder");
    // … until `--overwrite` says to replace it.
    let r = run(&[shop], dir.path(), &["--overwrite"]);
    ok(&r);
    assert!(
        r.stderr.contains(&format!(
            "warning: replaced `{}`, which was edited since stackdsl wrote it, as `--overwrite` asked",
            compose.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_to_string(&compose).unwrap(), original);
    ok(&run(&[shop], dir.path(), &["--check"]));
}

#[cfg(unix)]
#[test]
fn a_symlink_where_a_file_goes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    fs::write(&victim, "precious\n").unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let compose = dir.path().join("shop/dev/compose.yaml");
    fs::remove_file(&compose).unwrap();
    std::os::unix::fs::symlink(&victim, &compose).unwrap();
    let r = run(&[shop], dir.path(), &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("is a symbolic link; refusing to write through it"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
}

#[test]
fn a_directory_where_a_file_goes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let compose = dir.path().join("shop/dev/compose.yaml");
    fs::remove_file(&compose).unwrap();
    fs::create_dir_all(&compose).unwrap();
    let r = run(&[shop], dir.path(), &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("is not a regular file"), "{}", r.stderr);
}

#[test]
fn list_help_and_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let list = run(&[shop, other], dir.path(), &["--list"]);
    ok(&list);
    assert_eq!(
        list.stdout,
        "shop  (tests/tests/it/cli.rs)\nother  (tests/tests/it/cli.rs)\n"
    );
    let help = cli(Env::Prod, &[shop], &["--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("Usage: stack-prod [OPTIONS]"),
        "{}",
        help.stdout
    );
    let bad = cli(Env::Prod, &[shop], &["--frobnicate"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unexpected argument '--frobnicate'"),
        "{}",
        bad.stderr
    );
    assert!(tree(dir.path()).is_empty());
}

// --- Command-line hardening --------------------------------------------------------------

#[test]
fn conflicting_flags_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            &["--list", "--check"][..],
            "the argument '--list' cannot be used with '--check'",
        ),
        (
            &["--list", "--stack", "shop"][..],
            "the argument '--list' cannot be used with '--stack <NAME>'",
        ),
        (
            &["--check", "diff", "--against", "staging"][..],
            "error: `--check` does not apply to `diff`, which never writes",
        ),
        (
            &["--check", "--overwrite"][..],
            "the argument '--check' cannot be used with '--overwrite'",
        ),
        (
            &["--check", "--allow-outside"][..],
            "the argument '--check' cannot be used with '--allow-outside'",
        ),
        (
            &["--list", "--prune"][..],
            "the argument '--list' cannot be used with '--prune'",
        ),
        (
            &["--prune", "diff", "--against", "staging"][..],
            "error: `--prune` applies to synthesizing into the output folder, not to `diff`",
        ),
        (
            &["--overwrite", "--allow-outside", "init-ci"][..],
            "error: `--overwrite`, `--allow-outside` apply to synthesizing into the output folder, not to `init-ci`",
        ),
        // Typos of the write flags are errors, never ignored.
        (&["--overwite"][..], "unexpected argument '--overwite'"),
        (&["--prune-all"][..], "unexpected argument '--prune-all'"),
        (&["--force"][..], "unexpected argument '--force'"),
    ] {
        let mut with_out = vec!["--out", dir.path().to_str().unwrap()];
        with_out.extend_from_slice(args);
        let r = cli(Env::Dev, &[shop], &with_out);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
    }
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn check_creates_nothing_even_when_the_folder_does_not_exist() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("out");
    let stale = run(&[shop], &missing, &["--check"]);
    assert_eq!(stale.code, 1, "{stale:?}");
    assert!(
        stale.stderr.contains("2 files would change"),
        "{}",
        stale.stderr
    );
    let invalid = run(&[broken], &missing, &["--check"]);
    assert_eq!(invalid.code, 2, "{invalid:?}");
    assert!(!missing.exists(), "--check created the output folder");
    assert!(tree(parent.path()).is_empty());
    // In an existing folder: no lock file, no temp files, no folders, nothing touched.
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let before = tree(dir.path());
    let mtime = fs::metadata(dir.path().join("shop/dev"))
        .unwrap()
        .modified()
        .unwrap();
    let r = run(&[shop_port_changed, other], dir.path(), &["--check"]);
    assert_eq!(r.code, 1);
    assert_eq!(tree(dir.path()), before);
    assert!(!dir.path().join("other").exists());
    assert_eq!(
        fs::metadata(dir.path().join("shop/dev"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

/// A folder inside the working folder (which is where `out/` lives), removed on drop.
fn inside() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(".stackdsl-cli-test-")
        .tempdir_in(std::env::current_dir().unwrap())
        .unwrap()
}

fn relative(dir: &Path) -> std::path::PathBuf {
    dir.strip_prefix(std::env::current_dir().unwrap())
        .unwrap()
        .to_path_buf()
}

#[test]
fn out_outside_the_working_folder_needs_allow_outside_and_must_be_an_output_folder() {
    let refused = "which is outside the current folder";
    let write = |out: &Path, extra: &[&str]| {
        let mut args = vec!["--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        cli(Env::Dev, &[shop], &args)
    };
    // An existing folder with files stackdsl did not write, and no manifest: not an output
    // folder, whatever the flags; untouched.
    let foreign = tempfile::tempdir().unwrap();
    fs::write(foreign.path().join("thesis.tex"), "years of work\n").unwrap();
    for extra in [&[][..], &["--allow-outside"], &["--check"]] {
        let r = write(foreign.path(), extra);
        assert_eq!(r.code, 2, "{extra:?}: {r:?}");
        assert!(
            r.stderr.contains("holds `thesis.tex`, which stackdsl did not write, and no `.stackdsl-manifest`, so it is not an output folder"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(tree(foreign.path()).len(), 1);

    // An empty folder outside: refused without the flag, written with it; and it still
    // needs the flag once it holds a manifest.
    let empty = tempfile::tempdir().unwrap();
    let r = write(empty.path(), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(refused), "{}", r.stderr);
    assert!(
        r.stderr.contains("note: nothing was written\n  hint: run from the folder that holds your output folder, or pass `--allow-outside`"),
        "{}",
        r.stderr
    );
    assert!(tree(empty.path()).is_empty());
    ok(&write(empty.path(), &["--allow-outside"]));
    let before = tree(empty.path());
    let r = write(empty.path(), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(tree(empty.path()), before);
    // --check writes nothing, so it needs no flag.
    ok(&write(empty.path(), &["--check"]));

    // A folder that does not exist yet, outside: refused and not created; with the flag,
    // created.
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("new-out");
    let r = write(&missing, &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(refused), "{}", r.stderr);
    assert!(!missing.exists());
    ok(&write(&missing, &["--allow-outside"]));
    assert!(missing.join("shop/dev/compose.yaml").is_file());

    // Inside the working folder no flag is needed …
    let here = inside();
    let rel = relative(here.path());
    let r = cli(Env::Dev, &[shop], &["--out", rel.to_str().unwrap()]);
    ok(&r);
    assert!(here.path().join("shop/dev/compose.yaml").is_file());
    // … and notes beside the manifest are fine …
    fs::write(here.path().join("README.md"), "notes\n").unwrap();
    ok(&cli(Env::Dev, &[shop], &["--out", rel.to_str().unwrap()]));
    assert_eq!(
        fs::read_to_string(here.path().join("README.md")).unwrap(),
        "notes\n"
    );
    // … but `..` that leads outside is outside …
    let up = rel.join("../../escape-attempt");
    let r = cli(Env::Dev, &[shop], &["--out", up.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(refused), "{}", r.stderr);
    let escaped = std::env::current_dir().unwrap().join("../escape-attempt");
    assert!(!escaped.exists(), "{} was created", escaped.display());
    // … and so is a symlink that leads outside.
    #[cfg(unix)]
    {
        let link = here.path().join("link");
        std::os::unix::fs::symlink(empty.path(), &link).unwrap();
        let before = tree(empty.path());
        let r = cli(
            Env::Dev,
            &[shop],
            &["--out", relative(&link).to_str().unwrap()],
        );
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains(refused), "{}", r.stderr);
        assert_eq!(tree(empty.path()), before);
    }
}

#[test]
fn exit_codes_are_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(&[shop], dir.path(), &[]).code, stackdsl::cli::EXIT_OK);
    assert_eq!(stackdsl::cli::EXIT_OK, 0);
    assert_eq!(run(&[shop], dir.path(), &["--check"]).code, 0);
    assert_eq!(
        run(&[shop_port_changed], dir.path(), &["--check"]).code,
        stackdsl::cli::EXIT_STALE
    );
    assert_eq!(stackdsl::cli::EXIT_STALE, 1);
    assert_eq!(
        run(&[broken], dir.path(), &[]).code,
        stackdsl::cli::EXIT_INVALID
    );
    assert_eq!(run(&[shop], dir.path(), &["--nope"]).code, 2);
    assert_eq!(stackdsl::cli::EXIT_INVALID, 2);
    fs::remove_file(dir.path().join("shop/dev/compose.yaml")).unwrap();
    fs::create_dir(dir.path().join("shop/dev/compose.yaml")).unwrap();
    assert_eq!(run(&[shop], dir.path(), &[]).code, stackdsl::cli::EXIT_IO);
    assert_eq!(stackdsl::cli::EXIT_IO, 3);
}

/// The line of this file that holds `needle` (1-based), for messages that name call sites.
fn line_of(needle: &str) -> usize {
    let source = include_str!("cli.rs");
    let hits: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "`{needle}` should occur once in cli.rs");
    hits[0]
}

#[test]
fn an_update_through_another_stacks_handle_names_both_places_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(&[shop], dir.path(), &[]));
    let before = tree(dir.path());
    for extra in [&[][..], &["--check"][..]] {
        let r = run(&[shop_with_misdirected_update], dir.path(), extra);
        assert_eq!(r.code, 2, "{r:?}");
        assert_eq!(r.stdout, "");
        assert_eq!(
            tree(dir.path()),
            before,
            "an invalid run changed the output folder"
        );
        // Split needles, so that only the stack function's lines contain them.
        let declared = format!(
            "tests/tests/it/cli.rs:{}",
            line_of(concat!("billing.add(Service::new(", "\"ledger\")"))
        );
        let called = format!(
            "tests/tests/it/cli.rs:{}",
            line_of(concat!("s.update(", "&ledger,"))
        );
        assert!(
            r.stderr.contains(&format!(
                "error[unknown-service]: shop.update[ledger]: `Stack::update` at {called} changes service `ledger` of stack `billing` (declared at {declared}), which is not in stack `shop`"
            )),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn the_binarys_own_default_out_needs_no_allow_outside() {
    // A crate's binary writes to its own `out/` by absolute path (the consumer example), so
    // `cargo run -p` works from any folder; no one typed it, so it is no typo.
    let dir = tempfile::tempdir().unwrap();
    let out: &'static str = Box::leak(
        dir.path()
            .join("out")
            .display()
            .to_string()
            .into_boxed_str(),
    );
    let cli = stackdsl::cli::Cli::new(Env::Dev).default_out(out);
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = cli.run(&[shop], ["stack"], &mut stdout, &mut stderr, false);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
    assert!(dir.path().join("out/shop/dev/compose.yaml").is_file());
    // Typed, the same folder needs the flag.
    let typed = run_typed(&[shop], Path::new(out));
    assert_eq!(typed.code, 2, "{typed:?}");
}

fn run_typed(stacks: &[stackdsl::cli::StackFn], out: &Path) -> CliRun {
    cli(Env::Dev, stacks, &["--out", out.to_str().unwrap()])
}
