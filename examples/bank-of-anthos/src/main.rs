//! Synthesizes Bank of Anthos into this crate's `out/`: dev (Compose), then prod
//! (Kubernetes). Arguments go to both runs (`--check`, `--quiet`, …); the first run that
//! fails decides the exit code.
use stackdsl::cli::Cli;
use stackdsl::model::Env;

fn main() -> std::process::ExitCode {
    Cli::new(Env::Dev)
        .package("bank-of-anthos")
        .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
        .main_each(&[Env::Dev, Env::Prod], &[bank_of_anthos::bank_of_anthos])
}
