//! Operator artifacts: the log schema. `docs/log-schema.json` is a valid JSON Schema that
//! agrees with the code's event catalogue and label sets and with `docs/events.md`, and the
//! validator (the maintained `jsonschema` crate) rejects what the schema forbids with
//! messages naming the field.

use crate::ops_rules::read;
use codexd::http::routes::{Method, Route};
use codexd_actors::accounts::state::{AccountCause, AccountState};
use codexd_actors::labels::*;
use codexd_actors::worker::state::SlotState;
use jsonschema::error::ValidationErrorKind;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub const SCHEMA: &str = "docs/log-schema.json";

/// The schema, checked against its draft's meta-schema.
pub fn schema() -> Value {
    let s: Value =
        serde_json::from_str(&read(SCHEMA)).unwrap_or_else(|e| panic!("{SCHEMA} is not JSON: {e}"));
    if let Err(e) = jsonschema::meta::validate(&s) {
        panic!(
            "{SCHEMA} is not a valid JSON Schema: {e} (at {})",
            e.instance_path()
        );
    }
    s
}

/// `/a/0/b` (a JSON pointer) as `line.a.0.b`.
fn field_path(pointer: &str) -> String {
    let mut path = String::from("line");
    for part in pointer.split('/').skip(1) {
        path.push('.');
        path.push_str(&part.replace("~1", "/").replace("~0", "~"));
    }
    path
}

/// One message per violation of `schema` by `line`, naming the field: `line.seq: "7" is not
/// of type ...`, ``line: required field `seq` is missing``, ...
pub fn errors(schema: &Value, line: &Value) -> Vec<String> {
    // Compiled once: the workload test validates thousands of lines against one schema.
    static COMPILED: OnceLock<(Value, jsonschema::Validator)> = OnceLock::new();
    let compile = || {
        jsonschema::validator_for(schema)
            .unwrap_or_else(|e| panic!("{SCHEMA} does not compile: {e}"))
    };
    let fresh;
    let validator = match COMPILED.get_or_init(|| (schema.clone(), compile())) {
        (cached, v) if cached == schema => v,
        _ => {
            fresh = compile();
            &fresh
        }
    };
    validator
        .iter_errors(line)
        .map(|e| {
            let path = field_path(&e.instance_path().to_string());
            let v = e.instance();
            match e.kind() {
                ValidationErrorKind::Required { property } => format!(
                    "{path}: required field `{}` is missing",
                    property.as_str().unwrap_or_default()
                ),
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|k| {
                        format!("{path}: field `{k}` is not in the schema (additionalProperties: false)")
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                ValidationErrorKind::Enum { .. } => {
                    format!("{path}: {v} is not one of the allowed values")
                }
                ValidationErrorKind::Constant { expected_value } => {
                    format!("{path}: {v} is not {expected_value}")
                }
                ValidationErrorKind::Minimum { limit } => {
                    format!("{path}: {v} is below the minimum {limit}")
                }
                _ => format!("{path}: {e}"),
            }
        })
        .collect()
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
            names!(codexd_actors::retry::RetryReason),
            names!(RecycleReason),
        ]),
    );
    same(
        "cause enum",
        strs(&p["cause"]["enum"]),
        set(&[names!(StreamOutcome), names!(AccountCause)]),
    );
    same(
        "phase enum",
        strs(&p["phase"]["enum"]),
        set(&[names!(ShutdownPhase)]),
    );
    same(
        "from enum",
        strs(&p["from"]["enum"]),
        set(&[names!(SlotState), names!(AccountState)]),
    );
    same(
        "to enum",
        strs(&p["to"]["enum"]),
        set(&[names!(SlotState), names!(AccountState)]),
    );
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
                let t = fs.get("type").cloned().unwrap_or(Value::Null);
                if !jsonschema::is_valid(&json!({ "type": t }), &sample) {
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
