//! `codexd usage [--key ID] [--model M] [--from DATE] [--to DATE] [--format table|json|csv]
//! [--config PATH]`: reads the ledger the config points at (the SQLite file, or PostgreSQL)
//! directly, without a running daemon. Exit 0 with the rows, 64 for bad arguments or
//! configuration, 1 when the ledger cannot be read.

use super::store::Filter;
use super::{day, format, Backend};
use crate::cli::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config;
use std::io::Write;
use std::path::PathBuf;

pub const USAGE: &str = "usage: codexd usage [--key ID] [--model M] [--from YYYY-MM-DD] \
[--to YYYY-MM-DD] [--format table|json|csv] [--config PATH]\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug)]
struct Args {
    filter: Filter,
    format: Format,
    config: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        filter: Filter::default(),
        format: Format::Table,
        config: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (flag.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "--key" => a.filter.key = Some(value()?),
            "--model" => a.filter.model = Some(value()?),
            "--from" | "--to" => {
                let v = value()?;
                let d = day::parse_day(&v)
                    .ok_or_else(|| format!("{name} must be a date as YYYY-MM-DD, not {v:?}"))?;
                if name == "--from" {
                    a.filter.from = Some(d);
                } else {
                    a.filter.to = Some(d);
                }
            }
            "--format" => {
                a.format = match value()?.as_str() {
                    "table" => Format::Table,
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    other => return Err(format!("unknown format {other:?}: table, json or csv")),
                }
            }
            "--config" => a.config = Some(PathBuf::from(value()?)),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(a)
}

/// Runs `codexd usage`; returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let mut err = std::io::stderr();
    let a = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = write!(err, "codexd usage: {e}\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    // Reading the ledger needs no API key secrets.
    let c = match config::load_without_secrets(a.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "codexd: invalid configuration: {e}");
            return EXIT_USAGE;
        }
    };
    let Some(backend) = Backend::of(&c) else {
        let _ = writeln!(
            err,
            "codexd usage: the ledger is disabled (usage.path and usage.postgres_url are empty)"
        );
        return EXIT_USAGE;
    };
    let rows = backend
        .open_read()
        .and_then(|mut store| store.query(&a.filter));
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "codexd usage: cannot read the ledger: {e}");
            return EXIT_FAILURE;
        }
    };
    let text = match a.format {
        Format::Table => format::to_table(&rows),
        Format::Csv => format::to_csv(&rows),
        Format::Json => format::to_json(&rows).to_string() + "\n",
    };
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => EXIT_OK,
        Err(_) => EXIT_FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_parse_and_bad_ones_are_refused() {
        let a = parse(&args(
            "--key a --model=m --from 2026-01-01 --to=2026-01-02 --format csv",
        ))
        .unwrap();
        assert_eq!(a.filter.key.as_deref(), Some("a"));
        assert_eq!(a.filter.model.as_deref(), Some("m"));
        assert_eq!(a.filter.to.as_deref(), Some("2026-01-02"));
        assert_eq!(a.format, Format::Csv);
        assert!(parse(&args("--from 2026-02-30")).is_err());
        assert!(parse(&args("--format xml")).is_err());
        assert!(parse(&args("--key")).is_err());
        assert!(parse(&args("extra")).is_err());
    }
}
