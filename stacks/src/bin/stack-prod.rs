//! Synthesizes every stack for the `prod` environment into `out/`.
fn main() -> std::process::ExitCode {
    stackdsl::cli::main(stackdsl::model::Env::Prod, stacks::ALL)
}
