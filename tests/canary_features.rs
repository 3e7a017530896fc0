//! The request-features canary: a unique string inside a structured-output schema (a property
//! name, a description, an enum value), inside an image's bytes, and in a rejected schema,
//! appears in no log line, `/metrics`, `/healthz` body or exported span.

use crate::api_errors::{CHAT, RESPONSES};
use crate::api_features::PNG_1X1;
use crate::support::eventually;
use crate::support::http;
use crate::support::mock_provider::{MockProvider, Reply};
use serde_json::{json, Value};
use std::time::Duration;

fn canary() -> String {
    crate::canary::canary_tagged("f")
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_png() -> Vec<u8> {
    // The fixture's bytes, re-read through the daemon-independent decoder of this test.
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in PNG_1X1.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn a_canary_in_schemas_and_image_bytes_stays_out_of_logs_metrics_health_and_spans() {
    let c = canary();
    let receiver = MockProvider::start(Reply::default()).unwrap();
    let d = crate::canary::traced_one_worker(&receiver);
    let schema = json!({"type": "object", "additionalProperties": false, "required": [c.clone()],
        "description": c.clone(),
        "properties": {c.clone(): {"type": "string", "enum": [c.clone()], "description": c.clone()}}});
    let mut png = decode_png();
    png.extend_from_slice(c.as_bytes());
    let image = format!("data:image/png;base64,{}", base64(&png));
    let encoded = base64(&png);
    let needles = [c.clone(), encoded[encoded.len() - 24..].to_owned()];
    let requests = [
        (
            CHAT,
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}}),
        ),
        (
            RESPONSES,
            json!({"model": "codex-demo", "input": "x", "stream": true,
            "text": {"format": {"type": "json_schema", "name": "c", "schema": schema}}}),
        ),
        (
            CHAT,
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": image}}]}]}),
        ),
        (
            RESPONSES,
            json!({"model": "codex-demo", "input": [{"role": "user", "content": [
            {"type": "input_image", "image_url": image}]}]}),
        ),
        // Refused: a non-strict schema and an SVG that carries the canary.
        (
            CHAT,
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "c",
                "schema": {"type": "object", "properties": {c.clone(): {"type": "string"}}}}}}),
        ),
        (
            CHAT,
            json!({"model": "codex-demo", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:image/svg+xml;base64,{}", base64(c.as_bytes()))}}]}]}),
        ),
    ];
    let mut statuses = Vec::new();
    for (path, body) in &requests {
        let r = http::post(d.addr, path, body);
        statuses.push(r.status);
        if r.status == 200 && path == &CHAT && body.get("response_format").is_some() {
            let content = r.json()["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned();
            let v: Value = serde_json::from_str(&content).unwrap();
            assert_eq!(v[c.as_str()], c.as_str(), "the answer follows the schema");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 400, 400]);
    let spans = eventually(Duration::from_secs(10), "spans of the four turns", || {
        let s = crate::support::otlp::spans(&receiver);
        (s.len() >= 4).then_some(s)
    });
    let metrics = d.metrics();
    let health = d.healthz().to_string();
    for n in &needles {
        for span in &spans {
            let text = format!("{span:?}");
            assert!(!text.contains(n.as_str()), "a span leaks {n}: {text}");
        }
        assert!(!metrics.contains(n.as_str()), "/metrics leaks {n}");
        assert!(!health.contains(n.as_str()), "/healthz leaks {n}");
        for line in d.lines() {
            assert!(!line.contains(n.as_str()), "a log line leaks {n}: {line}");
        }
        assert!(!d.stderr().contains(n.as_str()));
    }
}
