//! The operator docs are checked against the code: the event catalogue (names, levels,
//! components, messages, fields and their types, closed value sets), every configuration key
//! with its type and default, the comments of the shipped configs, exit codes, start-up error
//! codes, `/readyz` reasons, slot states and transitions, and the shutdown phases.

mod config;
mod events;
mod lines;
mod samples;

use crate::support::daemon::{serve_to_exit, Config};
use codexd_actors::labels::{ReadinessReason, ShutdownPhase};
use codexd_actors::worker::state::SlotState;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// Markdown: headings and tables, outside fenced code blocks.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// One markdown table, with the heading it sits under.
struct Table {
    heading: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

fn tables(doc: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut heading = String::new();
    let mut fenced = false;
    let mut current: Option<Table> = None;
    for line in doc.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            fenced = !fenced;
        }
        let is_row = !fenced && t.starts_with('|');
        if !is_row {
            out.extend(current.take());
        }
        if fenced {
            continue;
        }
        if t.starts_with('#') {
            heading = t.trim_start_matches('#').trim().to_owned();
        } else if is_row {
            let row = cells(t);
            match &mut current {
                None => {
                    current = Some(Table {
                        heading: heading.clone(),
                        header: row,
                        rows: Vec::new(),
                    })
                }
                Some(_)
                    if row
                        .iter()
                        .all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) => {}
                Some(table) => table.rows.push(row),
            }
        }
    }
    out.extend(current);
    out
}

/// Tables whose first header cell is `first`.
fn tables_headed<'a>(all: &'a [Table], first: &str) -> Vec<&'a Table> {
    all.iter()
        .filter(|t| t.header.first().is_some_and(|h| h == first))
        .collect()
}

/// Every `code span` in a cell, in order.
fn ticks(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn first_tick(cell: &str) -> String {
    ticks(cell).into_iter().next().unwrap_or_default()
}

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map(String::as_str).unwrap_or("")
}

/// Collects problems so that one run reports all of them.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }
    fn assert_none(self, doc: &str) {
        assert!(
            self.0.is_empty(),
            "{doc} disagrees with the code:\n  {}",
            self.0.join("\n  ")
        );
    }
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| name(*v).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn documented_exit_codes_and_startup_error_codes_match_the_code() {
    let doc = read("docs/operations.md");
    let all = tables(&doc);
    let exit_codes: Vec<String> = tables_headed(&all, "exit code")
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| first_tick(cell(r, 0))))
        .collect();
    assert_eq!(
        exit_codes,
        ["0", "64", "1"],
        "docs/operations.md exit codes"
    );
    assert_eq!(codexd::cli::EXIT_USAGE, 64);

    let documented: BTreeMap<String, String> = tables_headed(&all, "error_code")
        .iter()
        .flat_map(|t| t.rows.iter())
        .map(|r| (first_tick(cell(r, 0)), first_tick(cell(r, 1))))
        .collect();
    // `StartupError` owns every start-up code: 64 for an invalid configuration, 1 otherwise.
    let codes = codexd::startup::StartupError::every().map(|e| e.code());
    let cli: BTreeSet<String> = codes
        .iter()
        .filter(|c| c.exit == codexd::cli::EXIT_USAGE)
        .map(|c| c.error_code.to_owned())
        .collect();
    let runtime: BTreeSet<String> = codes
        .iter()
        .filter(|c| c.exit != codexd::cli::EXIT_USAGE)
        .map(|c| c.error_code.to_owned())
        .collect();
    assert!(cli.contains("invalid_config"), "{cli:?}");
    assert!(runtime.contains("bind_failed"), "{runtime:?}");
    let mut p = Problems::default();
    for code in cli.union(&runtime) {
        let want = if cli.contains(code) { "64" } else { "1" };
        p.check(
            documented.get(code).map(String::as_str) == Some(want),
            || {
                format!(
                    "startup_failed error_code `{code}`: documented exit {:?}, code exits {want}",
                    documented.get(code)
                )
            },
        );
    }
    for code in documented.keys() {
        p.check(cli.contains(code) || runtime.contains(code), || {
            format!("documented error_code `{code}` is never written")
        });
    }
    p.assert_none("docs/operations.md");
}

#[test]
fn a_port_in_use_exits_1_with_the_documented_bind_failed_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = serve_to_exit(Config::default().set("server.listen", &format!("\"{addr}\"")));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "startup_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert_eq!(failed[0]["error_code"], "bind_failed");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains(&addr.to_string()),
        "{stdout}"
    );
    let doc = read("docs/operations.md");
    assert!(
        doc.contains("| `bind_failed` | `1` |"),
        "docs/operations.md should say bind_failed exits 1"
    );
}

#[test]
fn documented_readiness_reasons_and_worker_states_match_the_code() {
    let doc = read("docs/operations.md");
    let all = tables(&doc);
    let reasons: Vec<String> = tables_headed(&all, "reason")
        .iter()
        .filter(|t| t.heading == "/readyz reasons")
        .flat_map(|t| t.rows.iter().map(|r| first_tick(cell(r, 0))))
        .collect();
    let not_ready: Vec<String> = ReadinessReason::ALL
        .iter()
        .filter(|r| **r != ReadinessReason::Ready)
        .map(|r| r.as_str().to_owned())
        .collect();
    assert_eq!(reasons, not_ready, "docs/operations.md /readyz reasons");
    assert_eq!(ReadinessReason::Ready.as_str(), "ready");

    let states: Vec<String> = tables_headed(&all, "state")
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| first_tick(cell(r, 0))))
        .collect();
    assert_eq!(
        states,
        names(SlotState::ALL, SlotState::as_str),
        "docs/operations.md worker states"
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn the_documented_slot_transitions_are_exactly_the_state_machine() {
    let doc = read("docs/architecture.md");
    let all = tables(&doc);
    let documented: BTreeMap<String, BTreeSet<String>> = tables_headed(&all, "from")
        .iter()
        .flat_map(|t| t.rows.iter())
        .map(|r| {
            (
                first_tick(cell(r, 0)),
                ticks(cell(r, 1)).into_iter().collect(),
            )
        })
        .collect();
    let code: BTreeMap<String, BTreeSet<String>> = SlotState::ALL
        .iter()
        .map(|from| {
            let to = SlotState::ALL
                .iter()
                .filter(|to| from.can_become(**to))
                .map(|to| to.as_str().to_owned())
                .collect();
            (from.as_str().to_owned(), to)
        })
        .collect();
    assert_eq!(documented, code, "docs/architecture.md transition table");
}

#[test]
fn the_documented_shutdown_phases_are_the_ones_shutdown_rs_runs_in_order() {
    let doc = read("docs/architecture.md");
    let all = tables(&doc);
    let documented: Vec<String> = all
        .iter()
        .filter(|t| t.header.get(1).is_some_and(|h| h == "phase"))
        .flat_map(|t| t.rows.iter().map(|r| first_tick(cell(r, 1))))
        .collect();
    let source = read("src/shutdown.rs");
    let run = source
        .split("pub async fn run")
        .nth(1)
        .expect("src/shutdown.rs has `pub async fn run`");
    let by_variant: BTreeMap<String, &str> = ShutdownPhase::ALL
        .iter()
        .map(|p| (format!("{p:?}"), p.as_str()))
        .collect();
    let ran: Vec<String> = run
        .split("ShutdownPhase::")
        .skip(1)
        .filter_map(|rest| {
            let variant: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            by_variant.get(&variant).map(|s| (*s).to_owned())
        })
        .collect();
    assert_eq!(
        ran,
        names(ShutdownPhase::ALL, ShutdownPhase::as_str),
        "src/shutdown.rs runs every phase once, in declaration order"
    );
    assert_eq!(documented, ran, "docs/architecture.md shutdown phases");
}
