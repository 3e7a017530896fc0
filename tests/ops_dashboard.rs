//! Operator artifacts, part 2: the Grafana dashboard. Its structure (datasource variable,
//! sections, coverage of the families an operator needs), then the real thing: two daemons
//! after a mixed workload, scraped by a real Prometheus that loads the rules, and every PromQL
//! expression of the dashboard and of the rules evaluated through the query API, each metric
//! name it references checked against the live scrape.

use crate::ops_rules::{recorded_names, repo, rules, RULES};
use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::http::{self, chat_body, Streaming};
use crate::support::prometheus::Prometheus;
use crate::support::{eventually, signal};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

pub const DASHBOARD: &str = "config/grafana/codexd-dashboard.json";
const WAIT: Duration = Duration::from_secs(30);

/// The dashboard JSON.
pub fn dashboard() -> Value {
    let text = crate::ops_rules::read(DASHBOARD);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD} is not JSON: {e}"))
}

/// Every panel, rows included, with the panels of collapsed rows.
fn panels(d: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().cloned().unwrap_or_default() {
        out.extend(p["panels"].as_array().cloned().unwrap_or_default());
        out.push(p);
    }
    out
}

/// (where, expression) for every PromQL expression: panel targets and query variables.
fn expressions(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().cloned().unwrap_or_default() {
            if let Some(e) = t["expr"].as_str() {
                out.push((
                    format!(
                        "panel {:?} target {}",
                        p["title"].as_str().unwrap_or("?"),
                        t["refId"].as_str().unwrap_or("?")
                    ),
                    e.to_owned(),
                ));
            }
        }
    }
    for v in d["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap_or("");
        // label_values(<selector>, <label>): the selector must select something.
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.rsplit_once(','))
            .map(|(sel, _)| sel.trim().to_owned())
            .unwrap_or_else(|| q.to_owned());
        out.push((
            format!("variable {}", v["name"].as_str().unwrap_or("?")),
            inner,
        ));
    }
    out
}

/// Replaces the Grafana variables the dashboard uses with what a query would carry.
fn substitute(expr: &str) -> String {
    let e = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1m")
        .replace("$job", "codexd")
        .replace("$instance", ".*");
    assert!(
        !e.contains('$'),
        "unknown Grafana variable in {expr:?}: add it to the test's substitutions"
    );
    e
}

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "inf",
    "nan",
    "atan2",
];
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Skips a quoted string starting at `i` (the quote); returns the index after it.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    let q = b[i];
    i += 1;
    while i < b.len() && b[i] != q {
        if b[i] == b'\\' && q != b'`' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// Skips to after the `close` matching the `open` at `i`, ignoring brackets in strings.
fn skip_group(b: &[u8], mut i: usize, open: u8, close: u8) -> usize {
    let mut depth = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The metric names a PromQL expression selects: every identifier in a vector-selector
/// position (not a function, keyword, label matcher, label list, duration or string).
pub fn metric_names(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = skip_string(b, i);
        } else if c == b'{' {
            i = skip_group(b, i, b'{', b'}');
        } else if c == b'[' {
            i = skip_group(b, i, b'[', b']');
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            // Numbers and durations (`0.95`, `1e3`, `10m`).
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let ident = &expr[start..i];
            let mut j = i;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let lower = ident.to_ascii_lowercase();
            if LABEL_LISTS.contains(&lower.as_str()) {
                if b.get(j) == Some(&b'(') {
                    i = skip_group(b, j, b'(', b')');
                }
            } else if KEYWORDS.contains(&lower.as_str()) || b.get(j) == Some(&b'(') {
                // An operator, aggregation or function call.
            } else {
                out.push(ident.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The family a sample name belongs to, for histogram series.
fn family(name: &str) -> &str {
    for suffix in ["_bucket", "_count", "_sum"] {
        if let Some(f) = name.strip_suffix(suffix) {
            return f;
        }
    }
    name
}

/// The sample names in a text exposition.
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_owned))
        .collect()
}

#[test]
fn ops_metric_name_parser_finds_selectors_only() {
    let e = r#"sum by (job, le) (rate(codexd_a_bucket{job="$x", le=~"1|2"}[5m])) / on (job) group_left
        max without (slot) (codexd_b offset 10m) > bool 0 and up{job="codexd"} or job:codexd_c:rate5m
        unless histogram_quantile(0.95, process_d) * 1e3 + count(codexd_e{a="b{c}"})"#;
    assert_eq!(
        metric_names(e),
        [
            "codexd_a_bucket",
            "codexd_b",
            "up",
            "job:codexd_c:rate5m",
            "process_d",
            "codexd_e"
        ]
    );
}

#[test]
fn ops_dashboard_has_a_datasource_variable_and_every_section() {
    let d = dashboard();
    let mut problems = Vec::new();
    let vars = d["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ds = vars.iter().find(|v| v["name"] == "datasource");
    match ds {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        other => problems.push(format!(
            "templating needs {{name: datasource, type: datasource, query: prometheus}}, found {other:?}"
        )),
    }
    let want_ds = json!({"type": "prometheus", "uid": "${datasource}"});
    let mut ids = BTreeSet::new();
    let all = panels(&d);
    for p in &all {
        let title = p["title"].as_str().unwrap_or("?");
        if !ids.insert(p["id"].to_string()) {
            problems.push(format!("panel {title:?}: duplicate id {}", p["id"]));
        }
        let g = &p["gridPos"];
        if g["x"].as_u64().unwrap_or(99) + g["w"].as_u64().unwrap_or(99) > 24 {
            problems.push(format!("panel {title:?}: gridPos {g} is wider than 24"));
        }
        if p["type"] == "row" {
            continue;
        }
        if p["datasource"] != want_ds {
            problems.push(format!(
                "panel {title:?}: datasource {} is not the ${{datasource}} variable",
                p["datasource"]
            ));
        }
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("panel {title:?}: no targets"));
        }
        for t in targets {
            if !t["datasource"].is_null() && t["datasource"] != want_ds {
                problems.push(format!(
                    "panel {title:?}: a target's datasource {} is not ${{datasource}}",
                    t["datasource"]
                ));
            }
            if t["expr"].as_str().is_none_or(|e| e.trim().is_empty()) {
                problems.push(format!("panel {title:?}: a target has no expr"));
            }
        }
    }
    let rows: BTreeSet<&str> = all
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for row in [
        "Golden signals",
        "Streaming",
        "Workers",
        "Admission",
        "Tokens",
        "Telemetry health",
    ] {
        if !rows.contains(row) {
            problems.push(format!("no row {row:?} (rows: {rows:?})"));
        }
    }
    let used: BTreeSet<String> = expressions(&d)
        .iter()
        .flat_map(|(_, e)| metric_names(e))
        .map(|n| family(&n).to_owned())
        .collect();
    for f in [
        "codexd_http_requests_total",
        "codexd_http_request_duration_seconds",
        "codexd_http_requests_in_flight",
        "codexd_stream_time_to_first_token_seconds",
        "codexd_stream_time_per_output_chunk_seconds",
        "codexd_streams_total",
        "codexd_stream_no_first_token_total",
        "codexd_proxy_overhead_seconds",
        "codexd_upstream_errors_total",
        "codexd_worker_up",
        "codexd_worker_restarts_total",
        "codexd_worker_restart_backoff_seconds",
        "codexd_worker_handshake_duration_seconds",
        "codexd_worker_turns_in_flight",
        "codexd_admission_rejected_total",
        "codexd_admission_queue_depth",
        "codexd_admission_queue_wait_seconds",
        "codexd_tokens_total",
        "codexd_ready",
        "codexd_bus_events_dropped_total",
        "codexd_trace_spans_dropped_total",
    ] {
        if !used.contains(f) {
            problems.push(format!("no panel shows {f}"));
        }
    }
    assert!(problems.is_empty(), "{DASHBOARD}:\n{}", problems.join("\n"));
}

/// Traffic for daemon `a` (healthy) and `b` (every turn fails upstream): completed unary and
/// streamed requests on both routes, 4xx, a 5xx with an upstream error, a killed worker.
fn workload(a: &Daemon, b: &Daemon) {
    let ok = http::post(a.addr, "/v1/chat/completions", &chat_body("hello", false));
    assert_eq!(ok.status, 200, "unary: {}", ok.text());
    let mut s = Streaming::open(a.addr, "/v1/chat/completions", &chat_body("hello", true));
    s.read_to_end(WAIT);
    assert_eq!(s.status, 200, "stream");
    let body = json!({"model": "codex-demo", "input": "hi", "stream": true});
    let mut r = Streaming::open(a.addr, "/v1/responses", &body);
    r.read_to_end(WAIT);
    assert_eq!(r.status, 200, "responses stream");
    let bad_key = http::request(
        a.addr,
        "POST",
        "/v1/chat/completions",
        &[("Authorization", "Bearer nope")],
        chat_body("hi", false).to_string().as_bytes(),
    );
    assert_eq!(bad_key.status, 401);
    let unknown = json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]});
    assert_eq!(
        http::post(a.addr, "/v1/chat/completions", &unknown).status,
        404
    );
    let models = http::request(
        a.addr,
        "GET",
        "/v1/models",
        &[("Authorization", &format!("Bearer {KEY}"))],
        b"",
    );
    assert_eq!(models.status, 200);
    let failed = http::post(b.addr, "/v1/chat/completions", &chat_body("hi", false));
    assert_eq!(failed.status, 502, "upstream error: {}", failed.text());
    signal(a.worker_pids()[0], 9);
    a.wait_event(WAIT, "restart after kill", |e| {
        e["event"] == "restart_scheduled" && e["reason"] == "signal"
    });
    a.wait_ready();
    let again = http::post(a.addr, "/v1/chat/completions", &chat_body("again", false));
    assert_eq!(again.status, 200);
}

#[test]
fn ops_dashboard_and_rule_expressions_evaluate_against_a_live_scrape() {
    // Tracing on (towards a closed port) so the bus-drop family exists as it does in
    // production with a collector; a separate metrics listener as in the manifests.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("\"http://{}\"", dead.local_addr().unwrap());
    drop(dead);
    let a = Daemon::start_ready(
        Config::default()
            .set("metrics.listen", "\"127.0.0.1:0\"")
            .set("metrics.key_label", "true")
            .set("tracing.endpoint", &dead_url)
            // Known usage windows, so the quota families the alerts use are scraped.
            .worker_env("CODEXD_DEMO_RATE_LIMITS", "35,10"),
    );
    let b = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("metrics.listen", "\"127.0.0.1:0\"")
            .worker_env("CODEXD_DEMO_UPSTREAM_ERROR", "server_error"),
    );
    let targets = [a.metrics_addr.unwrap(), b.metrics_addr.unwrap()];
    let prom = Prometheus::start(&targets, &[repo().join(RULES)]);
    prom.wait_scraped();
    workload(&a, &b);

    // Wait until Prometheus holds the workload (two scrapes after the last request).
    eventually(WAIT, "the workload in Prometheus", || {
        let restarts = prom.value("sum(codexd_worker_restarts_total)")?;
        let errors = prom.value("sum(codexd_upstream_errors_total)")?;
        let fivexx = prom
            .value("sum(count_over_time(codexd_http_requests_total{status_class=\"5xx\"}[1m]))")?;
        (restarts >= 1.0 && errors >= 1.0 && fivexx >= 2.0).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));

    // What the live scrape has: every sample name codexd exports, plus the series
    // Prometheus adds itself for each target.
    let mut known = sample_names(&a.metrics());
    known.extend(sample_names(&b.metrics()));
    let r = http::get(prom.addr, "/api/v1/label/__name__/values").json();
    for n in r["data"].as_array().cloned().unwrap_or_default() {
        let n = n.as_str().unwrap_or("").to_owned();
        if n == "up" || n.starts_with("scrape_") {
            known.insert(n);
        }
    }
    let recorded = recorded_names();

    let mut problems = Vec::new();
    let mut check = |place: &str, expr: &str, must_have_series: bool| {
        for name in metric_names(expr) {
            let ok = if name.contains(':') {
                recorded.contains(&name)
            } else {
                known.contains(&name)
            };
            if !ok {
                problems.push(format!(
                    "{place}: references `{name}`, which is not in the live scrape{}",
                    if name.contains(':') {
                        " nor a recording rule"
                    } else {
                        ""
                    }
                ));
            }
        }
        match prom.query(expr) {
            Err(e) => problems.push(format!("{place}: does not evaluate: {e}\n    {expr}")),
            Ok(data) => {
                let empty = data["result"].as_array().is_none_or(Vec::is_empty);
                if must_have_series && empty {
                    problems.push(format!(
                        "{place}: returned no series after the workload\n    {expr}"
                    ));
                }
            }
        }
    };
    let d = dashboard();
    let exprs = expressions(&d);
    assert!(exprs.len() > 40, "too few expressions in {DASHBOARD}");
    for (place, expr) in &exprs {
        check(&format!("{DASHBOARD} {place}"), &substitute(expr), true);
    }
    let rules = rules();
    for r in &rules {
        let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
        check(
            &format!("{RULES} rule {name}"),
            r["expr"].as_str().unwrap_or(""),
            false,
        );
    }

    // Prometheus evaluated every rule itself, without an error.
    let health = eventually(WAIT, "every rule evaluated", || {
        let v = http::get(prom.addr, "/api/v1/rules").json();
        let rs: Vec<Value> = v["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        (rs.len() == rules.len()
            && rs
                .iter()
                .all(|r| r["health"] == "ok" || r["health"] == "err"))
        .then_some(rs)
    });
    for r in health {
        if r["health"] != "ok" {
            problems.push(format!(
                "Prometheus reports rule {} unhealthy: {}",
                r["name"], r["lastError"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
