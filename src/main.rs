//! The binary: parse flags, run the pipeline, map the outcome to an exit status.

use clap::Parser;
use ctail_filter::cli::Cli;
use ctail_filter::pipeline::{self, Exit};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(shell) = cli.completions {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "ctail-filter", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let config = cli.into_config();
    if config.reordered > 0 && !config.quiet {
        // Best effort, like every message: a closed stderr is no reason to stop.
        let _ = writeln!(
            std::io::stderr(),
            "ctail-filter: notice: reading the {} S3 trail files in delivery-time order (the time in their names), not in the order given",
            config.reordered
        );
    }
    let stdout = std::io::stdout();
    let code = match pipeline::run(&config, stdout.lock()) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("ctail-filter: {e}");
            Exit::Failure
        }
    };
    ExitCode::from(code.code())
}
