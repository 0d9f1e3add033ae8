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
    #[cfg(target_os = "linux")]
    stop_with_a_shipper_parent();
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

/// When our output is a pipe to the parent (a shipper's exec input, a supervisor) and that parent
/// dies, stop as on SIGTERM: finish what was read, save the state, exit, rather than run on with
/// parent 1 writing to nobody. Only then: a shell script that starts ctail-filter in the
/// background with its output in a file (`nohup … > out &`, `( … & )`) and ends must not stop it.
#[cfg(target_os = "linux")]
fn stop_with_a_shipper_parent() {
    use rustix::fs::{fstat, FileType};
    let to_a_pipe =
        fstat(std::io::stdout()).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Fifo);
    if to_a_pipe {
        let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    }
}
