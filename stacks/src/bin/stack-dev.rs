//! Synthesizes every stack for the `dev` environment into `out/`.
fn main() -> std::process::ExitCode {
    stackdsl::cli::main(stackdsl::model::Env::Dev, stacks::ALL)
}
