//! docs/configuration.md against `codexd check-config`: every key printed is documented with
//! its TOML type and built-in default, every documented key exists, and every key of the
//! shipped configs has a comment line right above it.

use super::{cell, first_tick, read, root, tables, tables_headed, Problems};
use crate::support::daemon::BIN;
use std::collections::BTreeMap;
use std::process::Command;

/// Free-form maps: documented as one key; their entries are the operator's, not codexd's.
const MAPS: &[&str] = &["workers.env", "accounts[].env"];

/// Runs `codexd check-config` with a clean `CODEXD__*` environment plus `env`.
fn check_config(config: Option<&str>, env: &[(&str, &str)]) -> toml::Table {
    let mut cmd = Command::new(BIN);
    cmd.arg("check-config").current_dir(root());
    if let Some(path) = config {
        cmd.args(["--config", path]);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CODEXD__") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run codexd check-config");
    assert_eq!(
        out.status.code(),
        Some(0),
        "check-config {config:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .parse()
        .expect("check-config prints TOML")
}

/// Flattens a config into `section.key` paths; `[[models]]` keys become `models[].id`.
fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, toml::Value>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !MAPS.contains(&path.as_str()) => flatten(&path, t, out),
            toml::Value::Array(items)
                if !items.is_empty() && items.iter().all(|i| i.is_table()) =>
            {
                for item in items.iter().filter_map(toml::Value::as_table) {
                    flatten(&format!("{path}[]"), item, out);
                }
            }
            _ => {
                out.insert(path, v.clone());
            }
        }
    }
}

fn keys(table: &toml::Table) -> BTreeMap<String, toml::Value> {
    let mut out = BTreeMap::new();
    flatten("", table, &mut out);
    out
}

fn toml_kind(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "string",
        toml::Value::Integer(_) => "integer",
        toml::Value::Float(_) => "float",
        toml::Value::Boolean(_) => "boolean",
        toml::Value::Datetime(_) => "datetime",
        toml::Value::Array(_) => "array",
        toml::Value::Table(_) => "table",
    }
}

#[test]
fn every_config_key_is_documented_with_its_type_and_default_and_every_documented_key_exists() {
    let doc = read("docs/configuration.md");
    let all = tables(&doc);
    let documented: BTreeMap<String, &Vec<String>> = tables_headed(&all, "key")
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| (first_tick(cell(r, 0)), r)))
        .collect();
    let shipped = keys(&check_config(Some("config/codexd.toml"), &[]));
    let demo = keys(&check_config(Some("config/demo.toml"), &[]));
    let defaults = keys(&check_config(None, &[]));
    // Optional keys are only printed when set.
    let optional = keys(&check_config(
        Some("config/codexd.toml"),
        &[
            ("CODEXD__METRICS__LISTEN", "127.0.0.1:9464"),
            ("CODEXD__LIMITS__REQUESTS_PER_MINUTE", "60"),
            ("CODEXD__LIMITS__TOKENS_PER_MINUTE", "100000"),
            ("CODEXD__LIMITS__MAX_CONCURRENT", "4"),
        ],
    ));
    let mut existing = optional.clone();
    for k in [&shipped, &demo, &defaults] {
        existing.extend(k.clone());
    }
    assert!(
        existing.contains_key("workers.backoff.max_ms"),
        "{existing:?}"
    );
    assert!(existing.contains_key("models[].id"), "{existing:?}");

    let mut p = Problems::default();
    for (file, printed) in [
        ("config/codexd.toml", &shipped),
        ("config/demo.toml", &demo),
        ("the built-in defaults", &defaults),
    ] {
        for key in printed.keys() {
            p.check(documented.contains_key(key), || {
                format!("`{key}` (printed by check-config for {file}) is not documented")
            });
        }
    }
    for (key, row) in &documented {
        let Some(value) = existing.get(key) else {
            p.check(false, || format!("documented key `{key}` does not exist"));
            continue;
        };
        let kind = toml_kind(value);
        let doc_kind = cell(row, 1).split_whitespace().next().unwrap_or("");
        p.check(doc_kind == kind, || {
            format!("`{key}`: documented type {doc_kind:?}, TOML type {kind}")
        });
        if key.starts_with("models[]") {
            continue; // per-entry keys; the built-in list is described in prose
        }
        let doc_default = cell(row, 2);
        match defaults.get(key) {
            Some(v) => p.check(first_tick(doc_default) == v.to_string(), || {
                format!("`{key}`: documented default {doc_default:?}, built-in default {v}")
            }),
            None => p.check(doc_default == "unset", || {
                format!("`{key}` has no built-in value; its default should read `unset`")
            }),
        }
    }
    p.assert_none("docs/configuration.md");
}

/// Counts `[` minus `]` outside double-quoted strings (for multi-line arrays).
fn bracket_depth(text: &str) -> i32 {
    let mut depth = 0;
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => break,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// The keys of a config file, as `flatten` names them, each with whether the line right above
/// it is a comment. Map tables count as one key, at their `[header]`.
fn key_lines(text: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    let mut prev = "";
    let mut depth = 0;
    for line in text.lines() {
        let t = line.trim();
        if depth > 0 {
            depth += bracket_depth(t);
        } else if let Some(header) = t.strip_prefix("[[").and_then(|h| h.strip_suffix("]]")) {
            section = format!("{}[]", header.trim());
        } else if let Some(header) = t.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            section = header.trim().to_owned();
            if MAPS.contains(&section.as_str()) {
                out.insert(section.clone(), prev.starts_with('#'));
            }
        } else if !t.is_empty() && !t.starts_with('#') {
            if let Some((key, value)) = t.split_once('=') {
                let key = key.trim().trim_matches('"');
                if !MAPS.contains(&section.as_str()) {
                    let path = if section.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{section}.{key}")
                    };
                    let commented = prev.starts_with('#');
                    let entry = out.entry(path).or_insert(true);
                    *entry &= commented;
                }
                depth = bracket_depth(value);
            }
        }
        prev = t;
    }
    out
}

#[test]
fn every_key_in_the_shipped_configs_has_a_comment_right_above_it() {
    let mut p = Problems::default();
    for file in ["config/codexd.toml", "config/demo.toml"] {
        let text = read(file);
        let lines = key_lines(&text);
        let parsed = keys(&text.parse::<toml::Table>().expect("valid TOML"));
        p.check(
            lines.keys().collect::<Vec<_>>() == parsed.keys().collect::<Vec<_>>(),
            || {
                format!(
                    "{file}: the line scan found {:?}, the TOML has {:?}",
                    lines.keys().collect::<Vec<_>>(),
                    parsed.keys().collect::<Vec<_>>()
                )
            },
        );
        for (key, commented) in &lines {
            p.check(*commented, || {
                format!("{file}: `{key}` has no comment line right above it")
            });
        }
    }
    p.assert_none("the shipped configs");
}
