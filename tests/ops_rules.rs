//! Operator artifacts, part 1: the Prometheus rules. `promtool check rules` and
//! `promtool test rules` on `config/prometheus/`, every alert with a firing and a quiet unit
//! case, labels and its own `runbook_url`, and the Kubernetes PrometheusRule carrying exactly
//! the rules file's groups. Also the helpers the other `ops_*` tests share.

use crate::support::prometheus::promtool;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

pub const RULES: &str = "config/prometheus/codexd-rules.yml";
pub const RULE_TESTS: &str = "config/prometheus/codexd-rules.test.yml";
pub const PROMETHEUS_RULE: &str = "config/kubernetes/prometheusrule.yaml";
/// Every alert's `runbook_url` is this plus `#<anchor of its section>`.
pub const RUNBOOK_BASE: &str = "https://github.com/codexd/codexd/blob/main/docs/runbooks.md";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A repository file's text.
pub fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// A repository YAML file as JSON values.
pub fn yaml(rel: &str) -> Value {
    serde_norway::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"))
}

/// Every rule of the rules file, in order.
pub fn rules() -> Vec<Value> {
    let doc = yaml(RULES);
    let groups = doc["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{RULES} has no `groups` list"));
    groups
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The alerting rules.
pub fn alerts() -> Vec<Value> {
    rules()
        .into_iter()
        .filter(|r| r.get("alert").is_some())
        .collect()
}

/// The names the recording rules define.
pub fn recorded_names() -> BTreeSet<String> {
    rules()
        .iter()
        .filter_map(|r| r["record"].as_str().map(str::to_owned))
        .collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[test]
fn ops_rules_pass_promtool_check_and_their_unit_tests() {
    let rules = repo().join(RULES);
    let (ok, out) = promtool(&["check", "rules", rules.to_str().unwrap()]);
    assert!(ok, "`promtool check rules {RULES}` failed:\n{out}");
    let tests = repo().join(RULE_TESTS);
    let (ok, out) = promtool(&["test", "rules", tests.to_str().unwrap()]);
    assert!(ok, "`promtool test rules {RULE_TESTS}` failed:\n{out}");
}

#[test]
fn ops_rules_every_alert_fires_in_one_unit_case_and_stays_quiet_in_another() {
    let names: BTreeSet<String> = alerts().iter().map(|a| s(&a["alert"]).to_owned()).collect();
    assert!(names.len() >= 10, "too few alerts in {RULES}: {names:?}");
    // alertname -> (cases where it must fire, cases where it must not)
    let mut cases: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let doc = yaml(RULE_TESTS);
    for t in doc["tests"].as_array().expect("`tests` list") {
        for case in t["alert_rule_test"].as_array().cloned().unwrap_or_default() {
            let name = s(&case["alertname"]).to_owned();
            let fires = case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
            let e = cases.entry(name).or_default();
            if fires {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    let mut problems = Vec::new();
    for name in &names {
        match cases.get(name) {
            None => problems.push(format!("{name}: no unit case in {RULE_TESTS}")),
            Some((0, _)) => problems.push(format!("{name}: no case where it fires")),
            Some((_, 0)) => problems.push(format!("{name}: no case where it must stay quiet")),
            Some(_) => {}
        }
    }
    // A typo in an alertname would make a quiet case pass for nothing.
    for name in cases.keys() {
        if !names.contains(name) {
            problems.push(format!(
                "{RULE_TESTS} tests alert {name}, which {RULES} does not define"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ops_rules_alerts_are_labelled_and_link_their_own_runbook_section() {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for a in alerts() {
        let name = s(&a["alert"]);
        if !seen.insert(name.to_owned()) {
            problems.push(format!("{name}: defined twice"));
        }
        let severity = s(&a["labels"]["severity"]);
        if !["critical", "warning"].contains(&severity) {
            problems.push(format!(
                "{name}: labels.severity is {severity:?}, not critical or warning"
            ));
        }
        for key in ["summary", "description"] {
            if s(&a["annotations"][key]).trim().is_empty() {
                problems.push(format!("{name}: annotations.{key} is missing"));
            }
        }
        let want = format!("{RUNBOOK_BASE}#{}", name.to_lowercase());
        let got = s(&a["annotations"]["runbook_url"]);
        if got != want {
            problems.push(format!(
                "{name}: runbook_url is {got:?}, expected its own section {want:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ops_prometheusrule_carries_exactly_the_rules_file_groups() {
    let manifest = yaml(PROMETHEUS_RULE);
    assert_eq!(manifest["kind"], "PrometheusRule", "{PROMETHEUS_RULE}");
    assert_eq!(
        manifest["apiVersion"], "monitoring.coreos.com/v1",
        "{PROMETHEUS_RULE}"
    );
    let want = yaml(RULES)["groups"].clone();
    let got = manifest["spec"]["groups"].clone();
    if got != want {
        // Name the first rule that differs, not the whole group.
        let rules_of = |v: &Value| -> Vec<(String, Value)> {
            v.as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| {
                    let group = g["name"].as_str().unwrap_or("?").to_owned();
                    g["rules"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |r| (group.clone(), r))
                })
                .collect()
        };
        let (w, g) = (rules_of(&want), rules_of(&got));
        let i = (0..w.len().max(g.len()))
            .find(|i| w.get(*i) != g.get(*i))
            .unwrap_or(0);
        let show = |x: Option<&(String, Value)>| {
            x.map(|(group, r)| format!("group {group}: {r}"))
                .unwrap_or_else(|| "(none)".into())
        };
        panic!(
            "{PROMETHEUS_RULE} spec.groups differs from the groups of {RULES} (run \
             scripts/gen-prometheusrule.sh); first different rule, #{i}:\n  rules file: {}\n  manifest:   {}",
            show(w.get(i)),
            show(g.get(i))
        );
    }
    let out = Command::new("bash")
        .arg(repo().join("scripts/gen-prometheusrule.sh"))
        .arg("--check")
        .output()
        .expect("run scripts/gen-prometheusrule.sh");
    assert!(
        out.status.success(),
        "scripts/gen-prometheusrule.sh --check: {PROMETHEUS_RULE} is not what the script generates:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
