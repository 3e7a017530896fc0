//! The command line: quick or full mode, where the binaries and the output are, and the
//! profiling (`--soak`) and experiment (`--env`) switches.

use crate::api_request::Shape;
use std::path::PathBuf;

pub struct Args {
    pub quick: bool,
    pub help: bool,
    pub codexd: PathBuf,
    /// `codexd-min-proxy`; `None`: the one beside the harness.
    pub proxy: Option<PathBuf>,
    pub config: PathBuf,
    pub out: PathBuf,
    pub rounds: Option<usize>,
    pub keep_logs: bool,
    /// `SHAPE:C:SECONDS`: one full-telemetry daemon under one closed-loop load, for profiling.
    pub soak: Option<(Shape, usize, u64)>,
    /// `--soak-proxy`: the soak drives the minimal proxy instead (unary or stream).
    pub soak_proxy: bool,
    /// Extra `KEY=VALUE` variables for every daemon (experiments: allocator tunables, …).
    pub extra_env: Vec<(String, String)>,
}

fn parse_soak(v: &str) -> Result<(Shape, usize, u64), String> {
    let bad = || format!("bad --soak {v}: want unary|stream|responses:C:SECONDS");
    let mut parts = v.split(':');
    let shape = match parts.next() {
        Some("unary") => Shape::ChatUnary,
        Some("stream") => Shape::ChatStream,
        Some("responses") => Shape::ResponsesStream,
        _ => return Err(bad()),
    };
    let c = parts.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    let secs = parts.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    Ok((shape, c, secs))
}

impl Args {
    pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut a = Args {
            quick: false,
            help: false,
            codexd: PathBuf::from("target/release/codexd"),
            proxy: None,
            config: PathBuf::from("config/bench.toml"),
            out: PathBuf::from("bench-out"),
            rounds: None,
            keep_logs: false,
            soak: None,
            soak_proxy: false,
            extra_env: Vec::new(),
        };
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--quick" => a.quick = true,
                "--keep-logs" => a.keep_logs = true,
                "--soak-proxy" => a.soak_proxy = true,
                "-h" | "--help" => a.help = true,
                "--codexd" => a.codexd = value("--codexd")?.into(),
                "--proxy" => a.proxy = Some(value("--proxy")?.into()),
                "--config" => a.config = value("--config")?.into(),
                "--out" => a.out = value("--out")?.into(),
                "--soak" => a.soak = Some(parse_soak(&value("--soak")?)?),
                "--env" => {
                    let kv = value("--env")?;
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or(format!("bad --env {kv}: want KEY=VALUE"))?;
                    a.extra_env.push((k.to_owned(), v.to_owned()));
                }
                "--rounds" => {
                    let n = value("--rounds")?;
                    a.rounds = Some(n.parse().map_err(|_| format!("bad --rounds {n}"))?);
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(a)
    }
}
