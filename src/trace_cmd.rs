//! `codexd trace <req-id> [--json] [LOGFILE...]`: rebuilds one request's timeline from JSON
//! log lines (files, rotated or interleaved, or stdin), with the worker lifecycle events that
//! overlapped it marked. Lines that are not JSON are skipped and counted.

use codexd_actors::clock::parse_rfc3339_ms;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Read, Write};

/// Worker and readiness events shown when they fall inside the request's time span.
const LIFECYCLE: &[&str] = &[
    "worker_spawned",
    "worker_ready",
    "worker_exited",
    "restart_scheduled",
    "restarts_exhausted",
    "worker_unresponsive",
    "worker_protocol_error",
    "readiness_changed",
    "shutdown_phase_started",
];

/// Fields printed after the event name, when present.
const KEY_FIELDS: &[&str] = &[
    "method",
    "route",
    "status",
    "outcome",
    "worker",
    "worker_pid",
    "thread_id",
    "turn_id",
    "in_flight",
    "queue_wait_ms",
    "ttft_ms",
    "duration_ms",
    "chunks",
    "input_tokens",
    "output_tokens",
    "reason",
    "cause",
    "error_code",
    "kind",
    "answer",
    "delay_ms",
    "signal",
    "exit_code",
    "ready",
    "phase",
];

struct Entry {
    ts_ms: i64,
    seq: u64,
    overlapping: bool,
    line: Map<String, Value>,
}

/// Reads every JSON object line from `inputs`; returns the objects and the skipped count.
fn read_lines(inputs: Vec<Box<dyn Read>>) -> (Vec<Map<String, Value>>, u64) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for input in inputs {
        for line in BufReader::new(input).split(b'\n').map_while(Result::ok) {
            match serde_json::from_slice::<Value>(&line) {
                Ok(Value::Object(m)) => out.push(m),
                _ if line.iter().all(u8::is_ascii_whitespace) => {}
                _ => skipped += 1,
            }
        }
    }
    (out, skipped)
}

fn timeline(req_id: &str, lines: Vec<Map<String, Value>>) -> Vec<Entry> {
    let stamp = |m: &Map<String, Value>| {
        let ts = m
            .get("ts")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339_ms)?;
        Some((ts, m.get("seq").and_then(Value::as_u64).unwrap_or(0)))
    };
    let mut mine: Vec<Entry> = Vec::new();
    let mut others: Vec<Entry> = Vec::new();
    for m in lines {
        let Some((ts_ms, seq)) = stamp(&m) else {
            continue;
        };
        let event = m.get("event").and_then(Value::as_str).unwrap_or("");
        if m.get("req_id").and_then(Value::as_str) == Some(req_id) {
            mine.push(Entry {
                ts_ms,
                seq,
                overlapping: false,
                line: m,
            });
        } else if LIFECYCLE.contains(&event) {
            others.push(Entry {
                ts_ms,
                seq,
                overlapping: true,
                line: m,
            });
        }
    }
    let (Some(first), Some(last)) = (
        mine.iter().map(|e| e.ts_ms).min(),
        mine.iter().map(|e| e.ts_ms).max(),
    ) else {
        return Vec::new();
    };
    // The same line can appear twice when rotated files overlap: keep one per seq.
    let mut seen = std::collections::HashSet::new();
    mine.retain(|e| seen.insert((e.seq, e.ts_ms)));
    mine.extend(
        others
            .into_iter()
            .filter(|e| (first..=last).contains(&e.ts_ms) && seen.insert((e.seq, e.ts_ms))),
    );
    mine.sort_by_key(|e| (e.ts_ms, e.seq));
    mine
}

fn render_text(entries: &[Entry], out: &mut impl Write) -> std::io::Result<()> {
    let start = entries.first().map(|e| e.ts_ms).unwrap_or(0);
    for e in entries {
        let get = |k: &str| e.line.get(k).and_then(Value::as_str).unwrap_or("-");
        let mut fields = String::new();
        for k in KEY_FIELDS {
            if let Some(v) = e.line.get(*k).filter(|v| !v.is_null()) {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                fields.push_str(&format!(" {k}={v}"));
            }
        }
        let mark = if e.overlapping { " (overlapping)" } else { "" };
        writeln!(
            out,
            "+{:>7}ms  {:<10} {:<26}{}{}",
            e.ts_ms - start,
            get("component"),
            get("event"),
            fields,
            mark
        )?;
    }
    Ok(())
}

fn render_json(entries: &[Entry]) -> Value {
    let start = entries.first().map(|e| e.ts_ms).unwrap_or(0);
    Value::Array(
        entries
            .iter()
            .map(|e| {
                let mut fields = Map::new();
                for k in KEY_FIELDS {
                    if let Some(v) = e.line.get(*k).filter(|v| !v.is_null()) {
                        fields.insert((*k).to_owned(), v.clone());
                    }
                }
                json!({
                    "offset_ms": e.ts_ms - start,
                    "ts": e.line.get("ts"),
                    "seq": e.seq,
                    "component": e.line.get("component"),
                    "event": e.line.get("event"),
                    "overlapping": e.overlapping,
                    "fields": fields,
                })
            })
            .collect(),
    )
}

/// Runs the subcommand; returns the exit code (0 found, 1 nothing found or unreadable, 64 usage).
pub fn run(args: &[String]) -> i32 {
    let mut json_out = false;
    let mut positional = Vec::new();
    for a in args {
        match a.as_str() {
            "--json" => json_out = true,
            s if s.starts_with("--") => {
                let _ = writeln!(std::io::stderr(), "codexd trace: unknown option {s}");
                return 64;
            }
            _ => positional.push(a.clone()),
        }
    }
    let Some((req_id, files)) = positional.split_first() else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: codexd trace <req-id> [--json] [LOGFILE...]"
        );
        return 64;
    };
    let mut inputs: Vec<Box<dyn Read>> = Vec::new();
    if files.is_empty() {
        inputs.push(Box::new(std::io::stdin()));
    }
    for f in files {
        match std::fs::File::open(f) {
            Ok(file) => inputs.push(Box::new(file)),
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "codexd trace: cannot read {f}: {e}");
                return 1;
            }
        }
    }
    let (lines, skipped) = read_lines(inputs);
    let entries = timeline(req_id, lines);
    let mut out = std::io::stdout().lock();
    if entries.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "codexd trace: no log line carries req_id {req_id}"
        );
        return 1;
    }
    let written = if json_out {
        writeln!(out, "{}", render_json(&entries))
    } else {
        render_text(&entries, &mut out)
    };
    if skipped > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "codexd trace: skipped {skipped} line(s) that were not JSON"
        );
    }
    i32::from(written.is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ts: &str, seq: u64, event: &str, req: Option<&str>) -> String {
        let mut v = json!({"ts": ts, "seq": seq, "event": event, "component": "x"});
        if let Some(r) = req {
            v["req_id"] = json!(r);
        }
        v.to_string()
    }

    #[test]
    fn interleaved_rotated_and_garbage_input_yields_one_ordered_timeline() {
        let a = [
            line(
                "2026-01-01T00:00:00.010Z",
                2,
                "request_received",
                Some("r1"),
            ),
            "garbage {{{".to_owned(),
            line("2026-01-01T00:00:00.020Z", 4, "worker_exited", None),
            line("2026-01-01T00:00:05.000Z", 9, "worker_exited", None),
        ]
        .join("\n");
        let b = [
            line(
                "2026-01-01T00:00:00.030Z",
                5,
                "request_completed",
                Some("r1"),
            ),
            line(
                "2026-01-01T00:00:00.010Z",
                2,
                "request_received",
                Some("r1"),
            ),
            line(
                "2026-01-01T00:00:00.015Z",
                3,
                "request_received",
                Some("other"),
            ),
        ]
        .join("\n");
        let inputs: Vec<Box<dyn Read>> = vec![
            Box::new(std::io::Cursor::new(b)),
            Box::new(std::io::Cursor::new(a)),
        ];
        let (lines, skipped) = read_lines(inputs);
        assert_eq!(skipped, 1);
        let t = timeline("r1", lines);
        let names: Vec<(&str, bool)> = t
            .iter()
            .map(|e| (e.line["event"].as_str().unwrap(), e.overlapping))
            .collect();
        assert_eq!(
            names,
            vec![
                ("request_received", false),
                ("worker_exited", true),
                ("request_completed", false)
            ]
        );
        let j = render_json(&t);
        assert_eq!(j[2]["offset_ms"], 20);
    }
}
