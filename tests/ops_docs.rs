//! Operator artifacts, part 3: the documents and the deployment units. Every alert's
//! `runbook_url` anchor exists in `docs/runbooks.md` (GitHub anchors) with a complete section;
//! `docs/log-schema.json` agrees with the code's event catalogue and label sets and with
//! `docs/events.md`, and validates every line the daemon prints during a mixed workload
//! (errors, worker crashes, restarts exhausted, start-up failure, shutdown); the systemd unit
//! and the Kubernetes manifests agree with `config/codexd.toml` (ports, probe paths, grace
//! periods).

use crate::ops_rules::{alerts, read, rules, yaml, RUNBOOK_BASE};
use crate::support::daemon::{scratch_dir, Config, Daemon, BIN};
use crate::support::http::{self, chat_body, Streaming};
use crate::support::mock_provider::{MockProvider, Reply};
use crate::support::otlp::spans;
use crate::support::signal;
use codexd::http::routes::{Method, Route};
use codexd_actors::labels::*;
use codexd_actors::worker::state::SlotState;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const RUNBOOKS: &str = "docs/runbooks.md";
const SCHEMA: &str = "docs/log-schema.json";
const WAIT: Duration = Duration::from_secs(15);

// ------------------------------------------------------------------------------------------
// Runbooks

/// GitHub's heading anchor: lowercase, punctuation other than `-` and `_` removed, spaces to
/// hyphens; repeated anchors get `-1`, `-2`, ...
pub fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// (level, text, anchor, body) for every heading outside code fences.
fn sections(md: &str) -> Vec<(usize, String, String, String)> {
    let mut out: Vec<(usize, String, String, String)> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fence = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if !fence && level > 0 && line[level..].starts_with(' ') {
            let text = line[level..].trim().to_owned();
            let base = github_anchor(&text);
            let n = seen.entry(base.clone()).or_insert(0);
            let anchor = if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            *n += 1;
            out.push((level, text, anchor, String::new()));
        } else if let Some(last) = out.last_mut() {
            last.3.push_str(line);
            last.3.push('\n');
        }
    }
    out
}

#[test]
fn ops_github_anchors_follow_github() {
    assert_eq!(
        github_anchor("CodexdWorkerCrashLooping"),
        "codexdworkercrashlooping"
    );
    assert_eq!(
        github_anchor("From an alert to the trace"),
        "from-an-alert-to-the-trace"
    );
    assert_eq!(github_anchor("`log.capture_content`"), "logcapture_content");
    let s = sections("# A\n## Same\nx\n```\n## not a heading\n```\n## Same\n");
    let anchors: Vec<&str> = s.iter().map(|x| x.2.as_str()).collect();
    assert_eq!(anchors, ["a", "same", "same-1"]);
}

/// The metric families an alert reads, recording rules expanded.
fn alert_families(expr: &str) -> BTreeSet<String> {
    let recorded: BTreeMap<String, String> = rules()
        .iter()
        .filter_map(|r| {
            Some((
                r["record"].as_str()?.to_owned(),
                r["expr"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut out = BTreeSet::new();
    for n in crate::ops_dashboard::metric_names(expr) {
        match recorded.get(&n) {
            Some(e) => out.extend(alert_families(e)),
            None => {
                let f = n
                    .strip_suffix("_bucket")
                    .unwrap_or(&n)
                    .trim_end_matches("_count")
                    .to_owned();
                out.insert(f);
            }
        }
    }
    out
}

#[test]
fn ops_runbooks_have_a_complete_section_for_every_alert() {
    let md = read(RUNBOOKS);
    let secs = sections(&md);
    let anchors: BTreeSet<&str> = secs.iter().map(|s| s.2.as_str()).collect();
    let names: BTreeSet<String> = alerts()
        .iter()
        .filter_map(|a| a["alert"].as_str().map(str::to_owned))
        .collect();
    let mut problems = Vec::new();
    for a in alerts() {
        let name = a["alert"].as_str().unwrap_or("?");
        let url = a["annotations"]["runbook_url"].as_str().unwrap_or("");
        let Some(anchor) = url
            .strip_prefix(RUNBOOK_BASE)
            .and_then(|r| r.strip_prefix('#'))
        else {
            problems.push(format!(
                "{name}: runbook_url {url:?} does not point into {RUNBOOK_BASE}"
            ));
            continue;
        };
        if !anchors.contains(anchor) {
            problems.push(format!(
                "{name}: runbook_url anchor #{anchor} has no heading in {RUNBOOKS}"
            ));
            continue;
        }
        // The section runs from its heading to the next heading of the same or a higher level.
        let i = secs.iter().position(|s| s.2 == anchor).unwrap();
        let level = secs[i].0;
        let mut body = secs[i].3.clone();
        for s in &secs[i + 1..] {
            if s.0 <= level {
                break;
            }
            body.push_str(&format!("{} {}\n{}", "#".repeat(s.0), s.1, s.3));
        }
        for part in ["Meaning", "Impact", "Diagnosis", "Mitigation"] {
            if !body.contains(&format!("{} {part}", "#".repeat(level + 1))) {
                problems.push(format!("{name}: its section has no `{part}` subsection"));
            }
        }
        if !body.contains("jq ") {
            problems.push(format!("{name}: its section has no jq query on the logs"));
        }
        for family in alert_families(a["expr"].as_str().unwrap_or("")) {
            if !body.contains(&format!("`{family}")) {
                problems.push(format!(
                    "{name}: its section never names the metric it alerts on, `{family}`"
                ));
            }
        }
    }
    // No section for an alert that does not exist (renamed or removed).
    for s in &secs {
        if s.0 == 2 && s.1.starts_with("Codexd") && !names.contains(&s.1) {
            problems.push(format!(
                "{RUNBOOKS} has a section for {}, which is not an alert",
                s.1
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------------------------------------
// The log schema and its validator

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "$comment",
    "format",
];
const KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "allOf",
    "if",
    "then",
    "else",
    "minimum",
];

/// Fails on a keyword the validator does not implement, so the schema can never say more
/// than the test checks.
fn check_keywords(schema: &Value, path: &str) {
    let Some(obj) = schema.as_object() else {
        assert!(
            schema.is_boolean(),
            "{path}: a schema must be an object or a bool"
        );
        return;
    };
    for (k, v) in obj {
        assert!(
            KEYWORDS.contains(&k.as_str()) || ANNOTATIONS.contains(&k.as_str()),
            "{SCHEMA}: {path}/{k}: keyword not supported by the test's validator"
        );
        match k.as_str() {
            "properties" => {
                for (p, s) in v.as_object().expect("properties object") {
                    check_keywords(s, &format!("{path}/properties/{p}"));
                }
            }
            "allOf" => {
                for (i, s) in v.as_array().expect("allOf array").iter().enumerate() {
                    check_keywords(s, &format!("{path}/allOf/{i}"));
                }
            }
            "additionalProperties" | "if" | "then" | "else" => {
                check_keywords(v, &format!("{path}/{k}"))
            }
            _ => {}
        }
    }
}

fn type_matches(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => panic!("{SCHEMA}: unknown type {other:?}"),
    }
}

/// Validates `v` against `schema` (type, enum, const, required, properties,
/// additionalProperties, allOf, if/then/else, minimum); appends one message per violation.
pub fn validate(schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(b) = schema.as_bool() {
        if !b {
            errs.push(format!("{path}: not allowed"));
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("{SCHEMA}: bad type at {path}"),
        };
        if !types.iter().any(|t| type_matches(v, t)) {
            errs.push(format!("{path}: {v} is not of type {types:?}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} is not one of the allowed values"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            errs.push(format!("{path}: {v} is not {c}"));
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errs.push(format!("{path}: {v} is below the minimum {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or("");
            if !obj.contains_key(r) {
                errs.push(format!("{path}: required field `{r}` is missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, val, &format!("{path}.{k}"), errs),
                None => {
                    if let Some(extra) = schema.get("additionalProperties") {
                        if extra == &Value::Bool(false) {
                            errs.push(format!(
                                "{path}: field `{k}` is not in the schema (additionalProperties: false)"
                            ));
                        } else {
                            validate(extra, val, &format!("{path}.{k}"), errs);
                        }
                    }
                }
            }
        }
    }
    for s in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(s, v, path, errs);
    }
    if let Some(cond) = schema.get("if") {
        let mut probe = Vec::new();
        validate(cond, v, path, &mut probe);
        let branch = if probe.is_empty() {
            schema.get("then")
        } else {
            schema.get("else")
        };
        if let Some(b) = branch {
            validate(b, v, path, errs);
        }
    }
}

/// The schema, checked for keywords the validator does not implement.
fn schema() -> Value {
    let s: Value =
        serde_json::from_str(&read(SCHEMA)).unwrap_or_else(|e| panic!("{SCHEMA} is not JSON: {e}"));
    check_keywords(&s, "#");
    s
}

fn errors(schema: &Value, line: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    validate(schema, line, "line", &mut errs);
    errs
}

fn strs(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_str().unwrap_or("").to_owned())
        .collect()
}

fn set(parts: &[&[&str]]) -> BTreeSet<String> {
    parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|s| (*s).to_owned())
        .collect()
}

macro_rules! names {
    ($t:ty) => {
        &<$t>::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>()[..]
    };
}

#[test]
fn ops_log_schema_matches_the_code_and_the_event_docs() {
    let s = schema();
    let p = &s["properties"];
    let mut problems = Vec::new();
    let mut same = |what: &str, got: BTreeSet<String>, want: BTreeSet<String>| {
        if got != want {
            problems.push(format!(
                "{what}: schema has {:?} too many and {:?} missing",
                got.difference(&want).collect::<Vec<_>>(),
                want.difference(&got).collect::<Vec<_>>()
            ));
        }
    };
    same(
        "required (the canonical fields)",
        strs(&s["required"]),
        set(&[crate::logs::CANONICAL]),
    );
    let catalogue = set(&[codexd_actors::events::CATALOGUE]);
    same(
        "event enum vs CATALOGUE",
        strs(&p["event"]["enum"]),
        catalogue.clone(),
    );
    same(
        "level enum",
        strs(&p["level"]["enum"]),
        set(&[&["trace", "debug", "info", "warn", "error"]]),
    );
    same(
        "component enum",
        strs(&p["component"]["enum"]),
        set(&[names!(Component)]),
    );
    same(
        "route enum",
        strs(&p["route"]["enum"]),
        set(&[names!(Route)]),
    );
    same(
        "method enum",
        strs(&p["method"]["enum"]),
        set(&[names!(Method), names!(RpcMethod)]),
    );
    same(
        "outcome enum",
        strs(&p["outcome"]["enum"]),
        set(&[
            names!(RequestOutcome),
            names!(StreamOutcome),
            names!(RpcOutcome),
        ]),
    );
    same(
        "reason enum",
        strs(&p["reason"]["enum"]),
        set(&[
            names!(RestartReason),
            names!(RejectReason),
            names!(ReadinessReason),
        ]),
    );
    same(
        "cause enum",
        strs(&p["cause"]["enum"]),
        set(&[names!(StreamOutcome)]),
    );
    same(
        "phase enum",
        strs(&p["phase"]["enum"]),
        set(&[names!(ShutdownPhase)]),
    );
    same(
        "from enum",
        strs(&p["from"]["enum"]),
        set(&[names!(SlotState)]),
    );
    same("to enum", strs(&p["to"]["enum"]), set(&[names!(SlotState)]));
    same(
        "kind enum",
        strs(&p["kind"]["enum"]),
        set(&[names!(ServerRequestKind)]),
    );
    same(
        "answer enum",
        strs(&p["answer"]["enum"]),
        set(&[names!(ServerRequestAnswer)]),
    );
    // One allOf clause per event, naming the fields it always carries.
    let mut clauses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in s["allOf"].as_array().cloned().unwrap_or_default() {
        let ev = c["if"]["properties"]["event"]["const"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let req = c["then"]["required"]
            .as_array()
            .map(|_| strs(&c["then"]["required"]))
            .unwrap_or_default();
        clauses.insert(ev, req);
    }
    same(
        "allOf clauses vs CATALOGUE",
        clauses.keys().cloned().collect(),
        catalogue,
    );
    // Every field docs/events.md documents is in the schema with a type that accepts it, and
    // is required exactly when the docs do not say "only when".
    let docs = read("docs/events.md");
    let mut event = None;
    for line in docs.lines() {
        if let Some(e) = line.strip_prefix("### ") {
            event = Some(e.trim().to_owned());
            continue;
        }
        if line.starts_with("## ") {
            event = None;
        }
        let Some(ev) = &event else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[1].starts_with('`') || cells[2] == "type" {
            continue;
        }
        let field = cells[1].trim_matches('`');
        let sample = match cells[2] {
            "integer" => json!(1),
            "number" => json!(1.5),
            "string" => json!("x"),
            "bool" => json!(true),
            "integer or null" | "number or null" => Value::Null,
            other => {
                problems.push(format!(
                    "docs/events.md {ev}.{field}: unknown type {other:?}"
                ));
                continue;
            }
        };
        match p.get(field) {
            None => problems.push(format!(
                "docs/events.md {ev}.{field} is not a property of {SCHEMA}"
            )),
            Some(fs) => {
                let mut errs = Vec::new();
                let t = fs.get("type").cloned().unwrap_or(Value::Null);
                validate(&json!({ "type": t }), &sample, field, &mut errs);
                if !errs.is_empty() {
                    problems.push(format!(
                        "docs/events.md {ev}.{field} is {}, the schema says {t}",
                        cells[2]
                    ));
                }
            }
        }
        let optional = cells[3].contains("only when");
        let required = clauses.get(ev).is_some_and(|r| r.contains(field));
        if required == optional {
            problems.push(format!(
                "{SCHEMA}: {ev}.{field} is {} but docs/events.md says {}",
                if required { "required" } else { "optional" },
                if optional { "only when ..." } else { "always" }
            ));
        }
    }
    if s["additionalProperties"] != false {
        problems.push(format!(
            "{SCHEMA}: additionalProperties must be false, so no unlisted field can pass"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ops_log_schema_validator_rejects_what_the_schema_forbids() {
    let s = schema();
    let good = json!({
        "ts": "2026-01-01T00:00:00.000Z", "level": "warn", "msg": "worker exited",
        "event": "worker_exited", "component": "supervisor", "service": "codexd",
        "version": "0.1.0", "seq": 7, "worker": 0, "worker_pid": 42, "exit_code": null,
        "signal": 9, "reason": "signal", "uptime_ms": 1200, "expected": false
    });
    assert_eq!(errors(&s, &good), Vec::<String>::new());
    let bad = |edit: &dyn Fn(&mut serde_json::Map<String, Value>), expect: &str| {
        let mut line = good.clone();
        edit(line.as_object_mut().unwrap());
        let errs = errors(&s, &line);
        assert!(
            errs.iter().any(|e| e.contains(expect)),
            "expected an error containing {expect:?} for {line}, got {errs:?}"
        );
    };
    bad(&|l| drop(l.remove("seq")), "required field `seq`");
    bad(
        &|l| drop(l.insert("event".into(), json!("made_up"))),
        "line.event",
    );
    bad(
        &|l| drop(l.insert("level".into(), json!("fatal"))),
        "line.level",
    );
    bad(&|l| drop(l.insert("seq".into(), json!("7"))), "line.seq");
    bad(&|l| drop(l.insert("worker".into(), json!(-1))), "minimum");
    bad(
        &|l| drop(l.insert("prompt".into(), json!("hi"))),
        "`prompt` is not in the schema",
    );
    bad(
        &|l| drop(l.insert("reason".into(), json!("oom"))),
        "line.reason",
    );
    bad(
        &|l| drop(l.remove("uptime_ms")),
        "required field `uptime_ms`",
    );
    bad(
        &|l| drop(l.insert("service".into(), json!("other"))),
        "line.service",
    );
}

/// Every stdout line of `d`, parsed, with where it came from.
fn lines_of(name: &str, d: &Daemon) -> Vec<(String, Value)> {
    d.lines()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{name} line {i} is not JSON ({e}): {l}"));
            (format!("{name} line {i}"), v)
        })
        .collect()
}

#[test]
fn ops_log_schema_accepts_every_line_of_a_mixed_workload() {
    let s = schema();
    let mut all: Vec<(String, Value)> = Vec::new();

    // A: two slow-ish workers with hostile output (a garbage line per turn, stderr), tracing
    // towards a closed port; completed, rejected, aborted and crashed work, then a shutdown
    // with a stream in flight and a request refused while draining.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("\"http://{}\"", dead.local_addr().unwrap());
    drop(dead);
    let mut a = Daemon::start_ready(
        Config::default()
            .set("tracing.endpoint", &dead_url)
            .worker_env("CODEXD_DEMO_CHUNKS", "10")
            .worker_env("CODEXD_DEMO_CHUNK_INTERVAL_MS", "100")
            .worker_env("CODEXD_DEMO_GARBAGE_LINE", "1")
            .worker_env("CODEXD_DEMO_STDERR_FLOOD_LINES", "3"),
    );
    let ok = http::post(a.addr, "/v1/chat/completions", &chat_body("hello", false));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let mut st = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("hello", true));
    st.read_to_end(WAIT);
    let body = json!({"model": "codex-demo", "input": "hi", "stream": true});
    Streaming::open(a.addr, "/v1/responses", &body).read_to_end(WAIT);
    http::request(
        a.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", "Bearer nope"),
            ("User-Agent", &"ua/1 ".repeat(40)),
        ],
        b"{}",
    );
    http::post(
        a.addr,
        "/v1/chat/completions",
        &json!({"model": "codex-demo"}),
    );
    http::get(a.addr, "/v1/nope?q=1");
    let mut aborted = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("bye", true));
    aborted.read_until(WAIT, |b| b.contains("data:"));
    drop(aborted);
    a.wait_event(WAIT, "client abort", |e| {
        e["event"] == "stream_ended" && e["outcome"] == "client_abort"
    });
    signal(a.worker_pids()[0], 9);
    a.wait_event(WAIT, "restart", |e| e["event"] == "restart_scheduled");
    a.wait_ready();
    let mut inflight = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("drain", true));
    inflight.read_until(WAIT, |b| b.contains("data:"));
    signal(a.pid(), 15);
    a.wait_event(WAIT, "draining", |e| {
        e["event"] == "shutdown_phase_completed" && e["phase"] == "stop_accepting"
    });
    let refused = http::post(a.addr, "/v1/chat/completions", &chat_body("late", false));
    assert_eq!(refused.status, 503, "{}", refused.text());
    inflight.read_to_end(WAIT);
    assert_eq!(a.wait_exit(Duration::from_secs(30)).code(), Some(0));
    all.extend(lines_of("daemon A", &a));

    // B: every turn rate-limited by the provider.
    let mut b = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR", "rate_limited"),
    );
    let limited = http::post(b.addr, "/v1/chat/completions", &chat_body("hi", false));
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(b.terminate().code(), Some(0));
    all.extend(lines_of("daemon B", &b));

    // C: a worker that dies at start, until the slot is failed.
    let mut c = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.backoff.initial_ms", "10")
            .set("workers.backoff.max_ms", "20")
            .set("workers.backoff.max_restarts", "2")
            .worker_env("CODEXD_DEMO_EXIT_ON_START", "1"),
    );
    c.wait_event(WAIT, "restarts exhausted", |e| {
        e["event"] == "restarts_exhausted"
    });
    assert_eq!(c.terminate().code(), Some(0));
    all.extend(lines_of("daemon C", &c));

    // E: debug content capture on loopback, and a worker that asks for an approval.
    let mut e = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("log.capture_content", "true")
            .worker_env("CODEXD_DEMO_APPROVAL_REQUEST", "command"),
    );
    let approved = http::post(e.addr, "/v1/chat/completions", &chat_body("run ls", false));
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(e.terminate().code(), Some(0));
    all.extend(lines_of("daemon E", &e));

    // F: a worker that wedges after the handshake: pings time out.
    let mut f = Daemon::start(
        Config::default()
            .set("workers.count", "1")
            .set("workers.ping_interval_ms", "100")
            .set("workers.ping_timeout_ms", "200")
            .worker_env("CODEXD_DEMO_STALL_AFTER_REQUESTS", "1"),
    );
    f.wait_event(WAIT, "unresponsive", |e| {
        e["event"] == "worker_unresponsive"
    });
    assert_eq!(f.terminate().code(), Some(0));
    all.extend(lines_of("daemon F", &f));

    // D: an invalid configuration: one startup_failed line, exit 64.
    let dir = scratch_dir("ops-bad-config");
    std::fs::write(dir.join("bad.toml"), "[server]\nlisten = \"nope\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.join("bad.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    for (i, l) in String::from_utf8_lossy(&out.stdout).lines().enumerate() {
        let v = serde_json::from_str(l)
            .unwrap_or_else(|e| panic!("start-up failure line {i} is not JSON ({e}): {l}"));
        all.push((format!("start-up failure line {i}"), v));
    }

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (place, line) in &all {
        seen.insert(line["event"].as_str().unwrap_or("").to_owned());
        for e in errors(&s, line) {
            problems.push(format!("{place}: {e}\n    {line}"));
        }
    }
    let must_see = [
        "daemon_started",
        "listener_bound",
        "worker_spawned",
        "worker_ready",
        "worker_state_changed",
        "readiness_changed",
        "request_received",
        "request_completed",
        "admission_rejected",
        "lease_granted",
        "lease_released",
        "stream_started",
        "turn_started",
        "first_token_received",
        "upstream_error_received",
        "turn_interrupt_sent",
        "stream_ended",
        "worker_rpc_completed",
        "worker_protocol_error",
        "worker_stderr_observed",
        "worker_exited",
        "restart_scheduled",
        "restarts_exhausted",
        "shutdown_phase_started",
        "shutdown_phase_completed",
        "worker_stopped",
        "daemon_stopped",
        "startup_failed",
        "content_capture_enabled",
        "content_captured",
        "server_request_answered",
        "worker_unresponsive",
    ];
    for e in must_see {
        if !seen.contains(e) {
            problems.push(format!("the workload never produced a `{e}` line"));
        }
    }
    let unseen: Vec<&&str> = codexd_actors::events::CATALOGUE
        .iter()
        .filter(|e| !seen.contains(**e))
        .collect();
    eprintln!(
        "log schema: {} lines validated; events not exercised: {unseen:?}",
        all.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {} lines break {SCHEMA}:\n{}",
        problems.len(),
        all.len(),
        problems.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// PII policy: the content capture's reach

#[test]
fn ops_pii_captured_content_reaches_only_its_own_log_lines_never_spans_metrics_or_health() {
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let c = format!("piicanary{nanos:x}");
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("log.capture_content", "true")
            .set(
                "tracing.endpoint",
                &format!("\"http://{}\"", receiver.addr()),
            ),
    );
    let cookie = format!("session={c}");
    for stream in [false, true] {
        let r = http::request(
            d.addr,
            "POST",
            "/v1/chat/completions",
            &[
                ("Authorization", "Bearer sk-test"),
                ("X-Request-Id", &format!("pii-{stream}")),
                ("Cookie", &cookie),
                ("X-Secret", &c),
            ],
            chat_body(&format!("my secret is {c}"), stream)
                .to_string()
                .as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let spans = crate::support::eventually(WAIT, "the requests' spans", || {
        let s = spans(&receiver);
        let chats = s.iter().filter(|x| x.name.starts_with("chat ")).count();
        (chats >= 2).then_some(s)
    });
    let mut problems = Vec::new();
    for s in &spans {
        if s.name.contains(&c) {
            problems.push(format!("span name {:?} carries the prompt", s.name));
        }
        for kv in &s.attributes {
            let v = s.attr(&kv.key).unwrap_or_default();
            if v.contains(&c) {
                problems.push(format!("span {:?} attribute {} = {v:?}", s.name, kv.key));
            }
        }
    }
    if d.metrics().contains(&c) {
        problems.push("/metrics carries the prompt".into());
    }
    for path in ["/healthz", "/readyz", "/livez"] {
        if http::get(d.addr, path).text().contains(&c) {
            problems.push(format!("{path} carries the prompt"));
        }
    }
    d.wait_event(WAIT, "captured content", |e| {
        e["event"] == "content_captured" && e["req_id"] == "pii-true"
    });
    let mut captured = 0;
    for line in d.lines() {
        if line.contains(&c) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["event"] == "content_captured" && v["level"] == "debug" {
                captured += 1;
            } else {
                problems.push(format!("a non-capture log line carries the prompt: {line}"));
            }
        }
    }
    if captured != 2 {
        problems.push(format!(
            "expected the prompt in exactly 2 content_captured lines, found {captured}"
        ));
    }
    if !d.events_named("content_captured").iter().all(|e| {
        e.as_object()
            .is_some_and(|o| !o.keys().any(|k| k == "cookie" || k == "x_secret"))
    }) {
        problems.push("content_captured carries headers".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------------------------------------
// Deployment units against config/codexd.toml

/// Fixed bounds of the shutdown sequence beyond the configured ones (src/shutdown.rs and
/// src/runtime.rs): 1 s after the interrupt grace, 2 s for the listeners to stop, 2 s on top
/// of workers.stop_grace_ms, 1 s on top of tracing.export_timeout_ms, 0.1 s of sleeps.
const FIXED_SHUTDOWN_MS: u64 = 1_000 + 2_000 + 2_000 + 1_000 + 100;
/// What a grace period must leave on top of the worst case.
const MARGIN_S: u64 = 5;

struct Production {
    port: u16,
    codex_home: String,
    /// The worst-case bounded shutdown, in milliseconds.
    shutdown_ms: u64,
}

fn production() -> Production {
    let t: toml::Table = read("config/codexd.toml")
        .parse()
        .expect("config/codexd.toml is TOML");
    let ms = |section: &str, key: &str| {
        t[section][key]
            .as_integer()
            .unwrap_or_else(|| panic!("config/codexd.toml has no {section}.{key}")) as u64
    };
    let listen = t["server"]["listen"].as_str().expect("server.listen");
    let port = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a port in server.listen");
    Production {
        port,
        codex_home: t["workers"]["codex_home"]
            .as_str()
            .expect("workers.codex_home")
            .to_owned(),
        shutdown_ms: ms("server", "drain_timeout_ms")
            + ms("streaming", "interrupt_grace_ms")
            + ms("workers", "stop_grace_ms")
            + ms("tracing", "export_timeout_ms")
            + FIXED_SHUTDOWN_MS,
    }
}

/// `[section] key=value` lines of a systemd unit; repeated keys keep every value.
fn unit(text: &str) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry((section.clone(), k.trim().to_owned()))
                .or_default()
                .push(v.trim().to_owned());
        }
    }
    out
}

/// A systemd time span (`90`, `90s`, `1min 30s`, `1500ms`) in milliseconds.
fn systemd_ms(v: &str) -> u64 {
    let mut total = 0.0;
    for part in v.split_whitespace() {
        let split = part
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(part.len());
        let (n, unit) = part.split_at(split);
        let n: f64 = n.parse().unwrap_or_else(|_| panic!("bad time span {v:?}"));
        total += n * match unit {
            "" | "s" | "sec" => 1000.0,
            "ms" | "msec" => 1.0,
            "m" | "min" => 60_000.0,
            other => panic!("unsupported unit {other:?} in {v:?}"),
        };
    }
    total as u64
}

fn yaml_strs(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

/// A `host:port` string's port.
fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

#[test]
fn ops_deployment_units_agree_with_the_production_config() {
    let prod = production();
    let need_s = prod.shutdown_ms.div_ceil(1000) + MARGIN_S;
    let mut problems = Vec::new();

    // systemd
    let u = unit(&read("config/systemd/codexd.service"));
    let get = |k: &str| u.get(&("Service".to_owned(), k.to_owned())).cloned();
    let one = |k: &str| get(k).and_then(|v| v.last().cloned());
    for (k, want) in [
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("KillMode", "mixed"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        if one(k).as_deref() != Some(want) {
            problems.push(format!(
                "codexd.service: {k}={want:?} expected, found {:?}",
                one(k)
            ));
        }
    }
    let families = one("RestrictAddressFamilies").unwrap_or_default();
    let families: BTreeSet<&str> = families.split_whitespace().collect();
    if families != BTreeSet::from(["AF_INET", "AF_INET6", "AF_UNIX"]) {
        problems.push(format!(
            "codexd.service: RestrictAddressFamilies must be exactly AF_INET AF_INET6 AF_UNIX, found {:?}",
            families
        ));
    }
    if !get("SystemCallFilter")
        .unwrap_or_default()
        .iter()
        .any(|f| f.split_whitespace().any(|w| w == "@system-service"))
    {
        problems.push("codexd.service: no SystemCallFilter=@system-service".into());
    }
    let exec = one("ExecStart").unwrap_or_default();
    if !exec.contains(" serve --config ") {
        problems.push(format!(
            "codexd.service: ExecStart {exec:?} does not run `serve --config`"
        ));
    }
    let writable = get("ReadWritePaths").unwrap_or_default().join(" ");
    if !writable
        .split_whitespace()
        .any(|p| prod.codex_home.starts_with(p.trim_start_matches('-')))
    {
        problems.push(format!(
            "codexd.service: workers.codex_home {} is not under ReadWritePaths ({writable:?})",
            prod.codex_home
        ));
    }
    match one("TimeoutStopSec").map(|v| systemd_ms(&v)) {
        Some(ms) if ms >= need_s * 1000 => {}
        got => problems.push(format!(
            "codexd.service: TimeoutStopSec is {got:?} ms; the bounded shutdown with \
             config/codexd.toml takes up to {} ms, so it must be at least {need_s} s",
            prod.shutdown_ms
        )),
    }

    // Kubernetes
    let dep = yaml("config/kubernetes/deployment.yaml");
    let pod = &dep["spec"]["template"]["spec"];
    let c = pod["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "codexd"))
        .cloned()
        .expect("a container named codexd in deployment.yaml");
    let ports: BTreeMap<String, u64> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["containerPort"].as_u64()?)))
        .collect();
    let env: BTreeMap<String, Value> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e.clone())))
        .collect();
    let env_value = |k: &str| {
        env.get(k)
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
    };
    let listen_port = env_value("CODEXD__SERVER__LISTEN")
        .and_then(|a| port_of(&a))
        .unwrap_or(prod.port);
    if listen_port != prod.port {
        problems.push(format!(
            "deployment.yaml: CODEXD__SERVER__LISTEN uses port {listen_port}, config/codexd.toml server.listen uses {}",
            prod.port
        ));
    }
    if ports.get("http").copied() != Some(u64::from(prod.port)) {
        problems.push(format!(
            "deployment.yaml: containerPort `http` is {:?}, server.listen's port is {}",
            ports.get("http"),
            prod.port
        ));
    }
    if let Some(m) = env_value("CODEXD__METRICS__LISTEN").and_then(|a| port_of(&a)) {
        if ports.get("metrics").copied() != Some(u64::from(m)) {
            problems.push(format!(
                "deployment.yaml: containerPort `metrics` is {:?}, CODEXD__METRICS__LISTEN uses {m}",
                ports.get("metrics")
            ));
        }
    }
    for (probe, path) in [
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/livez"),
    ] {
        let p = &c[probe]["httpGet"];
        if p.is_null() && probe == "startupProbe" {
            continue;
        }
        if p["path"] != path {
            problems.push(format!(
                "deployment.yaml: {probe} path is {}, expected {path}",
                p["path"]
            ));
        }
        let port = match &p["port"] {
            Value::String(name) => ports.get(name).copied(),
            v => v.as_u64(),
        };
        if port != Some(u64::from(prod.port)) {
            problems.push(format!(
                "deployment.yaml: {probe} port {} is {port:?}, not server.listen's port {}",
                p["port"], prod.port
            ));
        }
    }
    let pre_stop = &c["lifecycle"]["preStop"];
    let pre_stop_s = pre_stop["sleep"]["seconds"].as_u64().unwrap_or_else(|| {
        // An exec `sleep N` hook.
        yaml_strs(&pre_stop["exec"]["command"])
            .iter()
            .find_map(|w| w.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    });
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    if grace < pre_stop_s + need_s {
        problems.push(format!(
            "deployment.yaml: terminationGracePeriodSeconds {grace} < preStop {pre_stop_s} s + \
             the bounded shutdown with config/codexd.toml ({} ms) + {MARGIN_S} s margin = {} s",
            prod.shutdown_ms,
            pre_stop_s + need_s
        ));
    }
    // The config file is config/codexd.toml itself, mounted where --config points.
    let args = yaml_strs(&c["args"]);
    let config_path = args
        .iter()
        .skip_while(|a| *a != "--config")
        .nth(1)
        .cloned()
        .unwrap_or_default();
    let mounts: Vec<Value> = c["volumeMounts"].as_array().cloned().unwrap_or_default();
    let volumes: Vec<Value> = pod["volumes"].as_array().cloned().unwrap_or_default();
    let config_dir = config_path.rsplit_once('/').map(|x| x.0).unwrap_or("");
    let config_volume = mounts
        .iter()
        .find(|m| m["mountPath"] == config_dir)
        .and_then(|m| volumes.iter().find(|v| v["name"] == m["name"]));
    let cm = config_volume.and_then(|v| v["configMap"]["name"].as_str().map(str::to_owned));
    let kust = yaml("config/kubernetes/kustomization.yaml");
    let generated = kust["configMapGenerator"].as_array().and_then(|g| {
        g.iter()
            .find(|x| Some(x["name"].as_str().unwrap_or("")) == cm.as_deref())
    });
    let from_file = generated
        .map(|g| yaml_strs(&g["files"]))
        .unwrap_or_default()
        .iter()
        .any(|f| {
            f == &format!(
                "{}=../codexd.toml",
                config_path.rsplit('/').next().unwrap_or("")
            )
        });
    if !from_file {
        problems.push(format!(
            "deployment.yaml runs --config {config_path:?}, which must be a ConfigMap generated \
             from ../codexd.toml by kustomization.yaml (found volume {config_volume:?})"
        ));
    }
    if !mounts.iter().any(|m| {
        m["readOnly"] != true
            && m["mountPath"]
                .as_str()
                .is_some_and(|p| prod.codex_home.starts_with(p))
    }) {
        problems.push(format!(
            "deployment.yaml: workers.codex_home {} is not on a writable volume",
            prod.codex_home
        ));
    }

    // Service, ServiceMonitor and the job label the rules select.
    let svc = yaml("config/kubernetes/service.yaml");
    let labels = &dep["spec"]["template"]["metadata"]["labels"];
    for (k, v) in svc["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if labels[&k] != v {
            problems.push(format!(
                "service.yaml: selector {k}={v} does not match the pod labels {labels}"
            ));
        }
    }
    let svc_ports: Vec<Value> = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    for p in &svc_ports {
        let target = &p["targetPort"];
        let ok = match target {
            Value::String(n) => ports.contains_key(n),
            v => ports.values().any(|p| Some(*p) == v.as_u64()),
        };
        if !ok {
            problems.push(format!(
                "service.yaml: targetPort {target} is not a container port"
            ));
        }
    }
    let rules_text = read(crate::ops_rules::RULES);
    let job = svc["metadata"]["name"].as_str().unwrap_or("");
    if !rules_text.contains(&format!("job=\"{job}\"")) {
        problems.push(format!(
            "the ServiceMonitor's job label is the Service name {job:?}, which the rules never select"
        ));
    }
    let sm = yaml("config/kubernetes/servicemonitor.yaml");
    for (k, v) in sm["spec"]["selector"]["matchLabels"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if svc["metadata"]["labels"][&k] != v {
            problems.push(format!(
                "servicemonitor.yaml: selector {k}={v} does not match the Service's labels"
            ));
        }
    }
    let token_ref = &env
        .get("CODEXD__METRICS__TOKEN")
        .cloned()
        .unwrap_or(Value::Null)["valueFrom"]["secretKeyRef"];
    for e in sm["spec"]["endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if !svc_ports.iter().any(|p| p["name"] == e["port"]) {
            problems.push(format!(
                "servicemonitor.yaml: endpoint port {} is not a Service port",
                e["port"]
            ));
        }
        if e["path"] != "/metrics" {
            problems.push(format!(
                "servicemonitor.yaml: path {} is not /metrics",
                e["path"]
            ));
        }
        let cred = &e["authorization"]["credentials"];
        if cred["name"] != token_ref["name"] || cred["key"] != token_ref["key"] {
            problems.push(format!(
                "servicemonitor.yaml: scrapes with secret {cred}, but the daemon's metrics token is {token_ref}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
