//! The command line: `serve`, `check-config`, `demo-worker`, `trace` and `usage`, with the
//! documented exit codes (0 clean, 64 bad configuration or arguments, 1 any other start-up
//! failure), and `exit`, the one place the process exits.

use crate::config::{self, Config, ConfigError};
use crate::startup::StartupError;
pub use crate::startup::{StartupCode, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::{logging, runtime};
use std::io::Write;
use std::path::PathBuf;

/// Ends the process with `code`: the one owner of `std::process::exit` in the daemon.
pub fn exit(code: i32) -> ! {
    #[expect(
        clippy::disallowed_methods,
        reason = "the binary's single exit point, after every owner has cleaned up"
    )]
    std::process::exit(code)
}

const USAGE: &str = "usage: codexd <command> [--config PATH]

commands:
  serve          run the daemon in the foreground (JSON logs on stdout)
  check-config   validate the merged configuration and print it with secrets redacted
  demo-worker    run the deterministic demo worker on stdio
  trace <req-id> [--json] [LOGFILE...]
                 print one request's timeline from JSON log lines (stdin when no file)
  usage [--key ID] [--model M] [--from DATE] [--to DATE] [--format table|json|csv]
                 print the usage ledger (key x model x UTC day) from usage.path or
                 usage.postgres_url
";

enum Command {
    Serve(Option<PathBuf>),
    CheckConfig(Option<PathBuf>),
    DemoWorker,
    Trace(Vec<String>),
    Usage(Vec<String>),
    Help,
    Version,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    let config_arg = |rest: &[String]| -> Result<Option<PathBuf>, String> {
        match rest {
            [] => Ok(None),
            [flag, path] if flag == "--config" => Ok(Some(PathBuf::from(path))),
            [one] if one.starts_with("--config=") => {
                Ok(Some(PathBuf::from(&one["--config=".len()..])))
            }
            _ => Err(format!(
                "unexpected arguments for {cmd}: {}",
                rest.join(" ")
            )),
        }
    };
    match cmd.as_str() {
        "serve" => Ok(Command::Serve(config_arg(rest)?)),
        "check-config" => Ok(Command::CheckConfig(config_arg(rest)?)),
        "demo-worker" if rest.is_empty() => Ok(Command::DemoWorker),
        "trace" => Ok(Command::Trace(rest.to_vec())),
        "usage" => Ok(Command::Usage(rest.to_vec())),
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "version" => Ok(Command::Version),
        other => Err(format!("unknown command: {other}")),
    }
}

fn load(path: &Option<PathBuf>) -> Result<Config, ConfigError> {
    config::load(path.as_deref(), std::env::vars())
}

/// Runs the command line; returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(std::io::stderr(), "codexd: {e}\n\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    match command {
        Command::Help => {
            let _ = std::io::stdout().write_all(USAGE.as_bytes());
            EXIT_OK
        }
        Command::Version => {
            let _ = writeln!(std::io::stdout(), "codexd {}", logging::VERSION);
            EXIT_OK
        }
        Command::DemoWorker => demo_worker(),
        Command::Trace(args) => crate::trace_cmd::run(&args),
        Command::Usage(args) => crate::usage::cli::run(&args),
        Command::CheckConfig(path) => match load(&path) {
            Ok(c) => {
                let text = toml::to_string_pretty(&c.redacted()).unwrap_or_default();
                let _ = std::io::stdout().write_all(text.as_bytes());
                EXIT_OK
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "codexd: invalid configuration: {e}");
                EXIT_USAGE
            }
        },
        Command::Serve(path) => match load(&path) {
            Ok(c) => serve(c),
            Err(e) => StartupError::InvalidConfig(e.to_string()).report(&logging::sync_logger()),
        },
    }
}

/// `codexd demo-worker`: the demo worker crate on stdio, when this build has it.
#[cfg(feature = "demo-worker")]
fn demo_worker() -> i32 {
    codexd_demo_worker::run_stdio()
}

#[cfg(not(feature = "demo-worker"))]
fn demo_worker() -> i32 {
    let _ = writeln!(
        std::io::stderr(),
        "codexd: this build has no demo worker (built without the `demo-worker` feature)"
    );
    EXIT_USAGE
}

fn serve(config: Config) -> i32 {
    let (logger, guard) = logging::root(&config.log);
    logging::install_panic_hook();
    let code = runtime::serve(config, logger);
    drop(guard);
    code
}
