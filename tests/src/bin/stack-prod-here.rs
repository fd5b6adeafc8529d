//! Test helper for `tests/tests/file_safety.rs`: the real `stack-prod` (every seed stack,
//! prod), built in the tests crate so a test can run it as a process in a working folder of
//! its choosing (Cargo gives a package's tests only that package's own binaries). What a
//! run may touch depends on the working folder (`--out .`, `--out ..`, relative paths), and
//! an in-process run cannot change it per test.

fn main() -> std::process::ExitCode {
    stackdsl::cli::main(stackdsl::model::Env::Prod, stacks::ALL)
}
