//! `model/list`: the demo's fixed catalogue with each model's supported reasoning efforts, so
//! codexd's effort check has something to check against. `demo` supports `low`, `medium` and
//! `high` (default `medium`); `demo-fast` supports `low` and `medium` (default `low`).

use serde_json::{json, Value};

use crate::session::Session;

/// The demo's models: name, supported efforts, default effort.
pub const MODELS: &[(&str, &[&str], &str)] = &[
    ("demo", &["low", "medium", "high"], "medium"),
    ("demo-fast", &["low", "medium"], "low"),
];

/// The `model/list` result.
pub fn list_result() -> Value {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(name, efforts, default)| {
            let supported: Vec<Value> = efforts
                .iter()
                .map(|e| json!({"reasoningEffort": e, "description": format!("{e} effort")}))
                .collect();
            json!({"id": name, "model": name, "displayName": name, "description": "demo model",
                "hidden": false, "isDefault": *name == "demo", "inputModalities": ["text", "image"],
                "supportedReasoningEfforts": supported, "defaultReasoningEffort": default,
                "upgrade": null})
        })
        .collect();
    json!({"data": data, "nextCursor": null})
}

/// Answers `model/list` (bookkeeping: not counted towards `STALL_AFTER_REQUESTS`).
pub fn list(ctx: &Session, id: &Value) {
    ctx.out.ok_uncounted(id, list_result());
}
