//! How ledger rows are shown: the `/v1/usage` JSON (also `codexd usage --format json`), CSV
//! and an aligned table. A row without a key (the API has no keys) shows `key` as null / empty.

use super::store::{Counts, RowKey};
use serde_json::{json, Value};

/// The column names, in order (CSV header, table header, JSON field names).
pub const COLUMNS: [&str; 9] = [
    "key",
    "model",
    "date",
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "errors",
];

fn numbers(c: &Counts) -> [u64; 6] {
    [
        c.requests,
        c.input_tokens,
        c.cached_input_tokens,
        c.output_tokens,
        c.reasoning_tokens,
        c.errors,
    ]
}

/// `{"object":"list","data":[...]}`.
pub fn to_json(rows: &[(RowKey, Counts)]) -> Value {
    let data: Vec<Value> = rows
        .iter()
        .map(|(k, c)| {
            json!({
                "key": (!k.key.is_empty()).then_some(k.key.as_str()),
                "model": k.model,
                "date": k.day,
                "requests": c.requests,
                "input_tokens": c.input_tokens,
                "cached_input_tokens": c.cached_input_tokens,
                "output_tokens": c.output_tokens,
                "reasoning_tokens": c.reasoning_tokens,
                "errors": c.errors,
            })
        })
        .collect();
    json!({"object": "list", "data": data})
}

fn cells(k: &RowKey, c: &Counts) -> Vec<String> {
    let mut v = vec![k.key.clone(), k.model.clone(), k.day.clone()];
    v.extend(numbers(c).iter().map(u64::to_string));
    v
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub fn to_csv(rows: &[(RowKey, Counts)]) -> String {
    let mut out = COLUMNS.join(",") + "\n";
    for (k, c) in rows {
        let line: Vec<String> = cells(k, c).iter().map(|s| csv_field(s)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Aligned columns (text left, numbers right), with a total line.
pub fn to_table(rows: &[(RowKey, Counts)]) -> String {
    let mut total = Counts::default();
    let mut lines: Vec<Vec<String>> = vec![COLUMNS.iter().map(|s| s.to_string()).collect()];
    for (k, c) in rows {
        total.add(c);
        let mut cells = cells(k, c);
        if cells[0].is_empty() {
            cells[0] = "-".into();
        }
        lines.push(cells);
    }
    let mut t = vec!["total".to_owned(), String::new(), String::new()];
    t.extend(numbers(&total).iter().map(u64::to_string));
    lines.push(t);
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for l in &lines {
        let row: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i < 3 {
                    format!("{s:<w$}", w = widths[i])
                } else {
                    format!("{s:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(row.join("  ").trim_end());
        out.push('\n');
    }
    out
}
