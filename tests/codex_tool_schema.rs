//! The experimental Codex types client tools rely on, pinned: the test runs the pinned
//! Codex's `app-server generate-json-schema --experimental`, extracts the types codexd reads
//! and writes (dynamic tool specs on `thread/start`, `item/tool/call` params and answer,
//! `rawResponse/completed`, `rawResponseItem/completed`, `thread/inject_items`, the
//! `experimentalApi` capability) and diffs them against `tests/fixtures/codex_tool_schema.json`.
//! A Codex bump that changes them fails here, loudly. `CODEXD_UPDATE_TOOL_SCHEMA=1` rewrites
//! the committed copy (review the diff before committing it).

use crate::support::codex_env;
use crate::support::daemon::scratch_dir;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/codex_tool_schema.json"
);

fn read(dir: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn pick(v: &Value, pointers: &[&str]) -> Value {
    let mut out = Map::new();
    for p in pointers {
        let got = v
            .pointer(p)
            .unwrap_or_else(|| panic!("the schema lost {p}"))
            .clone();
        out.insert((*p).to_owned(), got);
    }
    Value::Object(out)
}

fn extract(dir: &Path) -> Value {
    let start = read(dir, "v2/ThreadStartParams.json");
    let init = read(dir, "v1/InitializeParams.json");
    json!({
        "DynamicToolCallParams": read(dir, "DynamicToolCallParams.json"),
        "DynamicToolCallResponse": read(dir, "DynamicToolCallResponse.json"),
        "RawResponseCompletedNotification": read(dir, "v2/RawResponseCompletedNotification.json"),
        "RawResponseItemCompletedNotification": read(dir, "v2/RawResponseItemCompletedNotification.json"),
        "ThreadInjectItemsParams": read(dir, "v2/ThreadInjectItemsParams.json"),
        "ThreadInjectItemsResponse": read(dir, "v2/ThreadInjectItemsResponse.json"),
        "ThreadStartParams": pick(&start, &[
            "/properties/dynamicTools",
            "/properties/experimentalRawEvents",
            "/properties/baseInstructions",
            "/properties/developerInstructions",
            "/definitions/DynamicToolSpec",
        ]),
        "InitializeParams": pick(&init, &["/definitions/InitializeCapabilities/properties/experimentalApi"]),
    })
}

#[test]
fn the_pinned_codex_tool_types_match_the_committed_copy() {
    let bin = codex_env::codex_bin().expect("CODEXD_CODEX_BIN: `source .cache/test-env`");
    let out = scratch_dir("codex-tool-schema");
    let status = Command::new(&bin)
        .args([
            "app-server",
            "generate-json-schema",
            "--experimental",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run codex generate-json-schema");
    assert!(
        status.status.success(),
        "generate-json-schema failed: {status:?}"
    );
    let got = extract(&out);
    let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if std::env::var_os("CODEXD_UPDATE_TOOL_SCHEMA").is_some() {
        std::fs::write(FIXTURE, &text).unwrap();
    }
    let want = std::fs::read_to_string(FIXTURE).expect("the committed tool schema");
    let want: Value = serde_json::from_str(&want).unwrap();
    for (k, v) in got.as_object().unwrap() {
        assert_eq!(
            Some(v),
            want.get(k),
            "Codex changed `{k}`, a type codexd's client tools rely on: check the connection's \
             tool handling, then re-run with CODEXD_UPDATE_TOOL_SCHEMA=1"
        );
    }
    assert_eq!(got, want);
}
