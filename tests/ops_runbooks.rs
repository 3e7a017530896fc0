//! Operator artifacts: the runbooks. Every alert's `runbook_url` anchor exists in
//! `docs/runbooks.md` (GitHub anchors) with a complete section.

use crate::ops_rules::{alerts, read, rules, RUNBOOK_BASE};
use std::collections::{BTreeMap, BTreeSet};

const RUNBOOKS: &str = "docs/runbooks.md";

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
