//! Synthesizes every stack for the `staging` environment into `out/`.
fn main() -> std::process::ExitCode {
    stackdsl::cli::main(stackdsl::model::Env::Staging, stacks::ALL)
}
