//! The `cloudgrant` binary: the wizard on a terminal, or one of the plain commands.

use clap::Parser;
use cloudgrant::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    if let Err(f) = result {
        eprintln!("error: {}", f.message);
        if !f.next_step.is_empty() {
            eprintln!("next: {}", f.next_step);
        }
        std::process::exit(f.code);
    }
}
