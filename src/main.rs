//! The binary: parse flags, run the pipeline, map the outcome to an exit status.

use clap::Parser;
use ctail_filter::cli::Cli;
use ctail_filter::{eprintln_locked, pipeline, Exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(shell) = cli.completions {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "ctail-filter", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    // When the parent (a shipper, a supervisor) dies, stop as on SIGTERM: finish what was read,
    // save the state, exit.
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    let mut cli = cli;
    if let Err(e) = cli.read_files_from() {
        let list = cli
            .files_from
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display();
        eprintln_locked!("ctail-filter: --files-from {list}: {e}");
        return ExitCode::from(2);
    }
    let config = cli.into_config();
    if config.reordered > 0 && !config.quiet {
        eprintln_locked!(
            "ctail-filter: notice: reading the {} S3 trail files in delivery-time order (the time in their names), not in the order given",
            config.reordered
        );
    }
    let stdout = std::io::stdout();
    let code = match pipeline::run(&config, stdout.lock()) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln_locked!("ctail-filter: {e}");
            Exit::Failure
        }
    };
    #[cfg(unix)]
    if code == Exit::Signal(signal_hook::consts::SIGINT as u8) {
        // Everything is flushed and saved: end by the signal itself, so that a parent shell
        // sees an interrupt and stops its script (a plain 130 it would take for a status).
        let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    }
    ExitCode::from(code.code())
}
