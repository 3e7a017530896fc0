//! codexd-bench: starts demo workers and codexd itself, measures both in the same run and
//! writes `bench-out/report.json` and `bench-out/summary.md`. See docs/benchmarks.md.

mod api_request;
mod args;
mod daemon;
mod direct_worker;
mod held_streams;
mod load_loops;
mod measured_case;
mod overhead_metric;
mod procfs;
mod proxy;
mod report;
mod run_plan;
mod summary;
mod summary_costs;
mod summary_memory;
mod summary_proxy;
mod targets;
mod vs_proxy;
mod worker_kill;

use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: codexd-bench [--quick] [--codexd PATH] [--proxy PATH] [--config PATH] [--out DIR] [--rounds N] [--keep-logs] [--env K=V]
       codexd-bench --soak unary|stream|responses:C:SECONDS   (one daemon under load, for perf)
       codexd-bench --soak unary|stream:C:SECONDS --soak-proxy (the minimal proxy instead)

  --quick       one short round (under 60 s); prints a one-line summary
  --codexd      the codexd binary (default target/release/codexd)
  --proxy       the minimal-proxy baseline (default codexd-min-proxy beside this binary)
  --config      the daemon configuration (default config/bench.toml)
  --out         where report.json and summary.md go (default bench-out)
  --rounds      rounds of the closed-loop matrix (default 3, quick 1)
  --keep-logs   keep the daemons' log files in <out>/logs
  --env K=V     set K=V for every daemon (repeatable; for experiments)
";

fn main() -> ExitCode {
    let args = match args::Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            let _ = write!(std::io::stderr(), "codexd-bench: {e}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    if args.help {
        let _ = write!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let system = actix_rt::System::new();
    match system.block_on(run_plan::run(args)) {
        Ok(line) => {
            let _ = writeln!(std::io::stdout(), "{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "codexd-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
