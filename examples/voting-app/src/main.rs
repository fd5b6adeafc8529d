//! Synthesizes the voting app into this crate's `out/`: dev (Compose), then prod
//! (Kubernetes). Arguments go to both runs (`--check`, `--quiet`, …); the first run that
//! fails decides the exit code.
use stackdsl::cli::Cli;
use stackdsl::model::Env;

fn main() -> std::process::ExitCode {
    Cli::new(Env::Dev)
        .package("voting-app")
        .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
        .main_each(&[Env::Dev, Env::Prod], &[voting_app::voting_app])
}
