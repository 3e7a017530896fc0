//! Every error path of the API, through the real binary: exact status, the OpenAI error
//! envelope, `Retry-After` / `WWW-Authenticate`, request ids, the model catalogue and admission.

use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::http::{self, Response};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub const CHAT: &str = "/v1/chat/completions";
pub const RESPONSES: &str = "/v1/responses";

/// One worker is enough for everything but the admission tests.
pub fn one_worker() -> Config {
    Config::default().set("workers.count", "1")
}

/// POSTs raw bytes with the test key, a chosen request id and extra headers.
pub fn post_as(addr: SocketAddr, path: &str, req_id: &str, body: &[u8]) -> Response {
    let auth = format!("Bearer {KEY}");
    http::request(
        addr,
        "POST",
        path,
        &[("Authorization", &auth), ("X-Request-Id", req_id)],
        body,
    )
}

/// Asserts the exact status and the `{"error":{message,type,param,code}}` envelope with its
/// headers, and returns the error object.
pub fn assert_error(r: &Response, status: u16, ty: &str, code: &str, param: Option<&str>) -> Value {
    assert_eq!(r.status, status, "status; body: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error"], "{body}");
    let e = &body["error"];
    let mut fields: Vec<&String> = e.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["code", "message", "param", "type"], "{body}");
    assert_eq!(e["type"], ty, "{body}");
    assert_eq!(e["code"], code, "{body}");
    assert_eq!(e["param"].as_str(), param, "{body}");
    let message = e["message"].as_str().unwrap();
    assert!(!message.is_empty());
    let req_id = r
        .header("x-request-id")
        .expect("X-Request-Id on every response");
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("X-Request-Id")
    );
    let retry = r.header("retry-after");
    if matches!(status, 429 | 503) {
        assert!(
            retry.is_some_and(|s| s.parse::<u32>().is_ok()),
            "Retry-After on {status}"
        );
    }
    if status == 401 {
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    } else {
        assert_eq!(r.header("www-authenticate"), None);
    }
    if status >= 500 {
        assert!(
            message.ends_with(&format!(" (request id: {req_id})")),
            "{message}"
        );
    }
    e.clone()
}

/// The `request_completed` line of one request.
pub fn completed(d: &Daemon, req_id: &str) -> Value {
    d.wait_event(Duration::from_secs(5), "request_completed", |e| {
        e["event"] == "request_completed" && e["req_id"] == req_id
    })
}

pub fn chat(prompt: &str) -> Vec<u8> {
    http::chat_body(prompt, false).to_string().into_bytes()
}

#[test]
fn malformed_json_is_a_400_invalid_json_on_both_apis() {
    let d = Daemon::start_ready(one_worker());
    for path in [CHAT, RESPONSES] {
        for body in [
            &b"{bad"[..],
            b"",
            b"\xff\xfe{}",
            b"{\"model\":\"codex-demo\",}",
        ] {
            let r = post_as(d.addr, path, "malformed", body);
            let e = assert_error(&r, 400, "invalid_request_error", "invalid_json", None);
            assert_eq!(e["message"], "The request body is not valid JSON.");
        }
    }
}

/// `api | body | param`: one invalid request per line, and the `param` its 400 must name.
const INVALID: &str = r#"
chat      | [1, 2]                                                                      | body
chat      | {"messages": [{"role": "user", "content": "hi"}]}                           | model
chat      | {"model": 42, "messages": [{"role": "user", "content": "hi"}]}              | model
chat      | {"model": "", "messages": [{"role": "user", "content": "hi"}]}              | model
chat      | {"model": "codex-demo"}                                                     | messages
chat      | {"model": "codex-demo", "messages": []}                                     | messages
chat      | {"model": "codex-demo", "messages": "hi"}                                   | messages
chat      | {"model": "codex-demo", "messages": [{"role": "system", "content": "x"}]}   | messages
chat      | {"model": "codex-demo", "messages": [{"role": "wizard", "content": "x"}]}   | messages[0].role
chat      | {"model": "codex-demo", "messages": [{"role": "user", "content": 7}]}       | messages[0].content
chat      | {"model": "codex-demo", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "image_url"}]}]} | messages[1].content[0].type
chat      | {"model": "codex-demo", "messages": [{"role": "user", "content": [{"type": "text"}]}]} | messages[0].content[0].text
chat      | {"model": "codex-demo", "stream": "yes", "messages": [{"role": "user", "content": "x"}]} | stream
chat      | {"model": "codex-demo", "stream_options": true, "messages": [{"role": "user", "content": "x"}]} | stream_options
chat      | {"model": "codex-demo", "stream_options": {"include_usage": 1}, "messages": [{"role": "user", "content": "x"}]} | stream_options.include_usage
responses | "hi"                                                                        | body
responses | {"input": "hi"}                                                             | model
responses | {"model": "codex-demo"}                                                     | input
responses | {"model": "codex-demo", "input": ""}                                        | input
responses | {"model": "codex-demo", "input": 5}                                         | input
responses | {"model": "codex-demo", "input": "hi", "instructions": 5}                   | instructions
responses | {"model": "codex-demo", "input": "hi", "stream": 1}                         | stream
responses | {"model": "codex-demo", "input": [{"role": "tool", "content": "x"}]}        | input[0].role
responses | {"model": "codex-demo", "input": [{"role": "user", "content": [{"type": "input_image"}]}]} | input[0].content[0].type
"#;

#[test]
fn missing_and_invalid_fields_are_400s_that_name_the_param() {
    let mut d = Daemon::start_ready(one_worker());
    for line in INVALID.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let path = if cols[0] == "chat" { CHAT } else { RESPONSES };
        let r = post_as(d.addr, path, "invalid-field", cols[1].as_bytes());
        assert!(serde_json::from_str::<Value>(cols[1]).is_ok(), "{line}");
        let e = assert_error(
            &r,
            400,
            "invalid_request_error",
            "invalid_value",
            Some(cols[2]),
        );
        assert!(e["message"].as_str().unwrap().ends_with('.'), "{line}");
    }
    assert_eq!(d.terminate().code(), Some(0), "every log line is out");
    assert!(
        d.events_named("stream_started").is_empty(),
        "nothing runs for invalid requests"
    );
}

#[test]
fn n_other_than_1_is_a_400_naming_n_and_unsupported_fields_are_ignored() {
    let d = Daemon::start_ready(one_worker());
    for n in [json!(2), json!(0), json!(-1), json!("1"), json!(1.5)] {
        let body =
            json!({"model": "codex-demo", "n": n, "messages": [{"role": "user", "content": "x"}]});
        let r = post_as(d.addr, CHAT, "n", body.to_string().as_bytes());
        let e = assert_error(&r, 400, "invalid_request_error", "invalid_value", Some("n"));
        assert_eq!(e["message"], "Only n=1 is supported.");
    }
    let body = json!({"model": "codex-demo", "n": 1, "temperature": 0.2, "user": "u", "seed": 3,
        "messages": [{"role": "user", "content": "x"}]});
    let r = post_as(d.addr, CHAT, "n1", body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "You said: x");
}

#[test]
fn an_unknown_model_is_a_404_model_not_found_on_both_apis() {
    let d = Daemon::start_ready(one_worker());
    let chat = json!({"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]});
    let responses = json!({"model": "gpt-nope", "input": "x", "stream": true});
    for (path, body) in [(CHAT, chat), (RESPONSES, responses)] {
        let r = post_as(d.addr, path, "unknown-model", body.to_string().as_bytes());
        let e = assert_error(
            &r,
            404,
            "invalid_request_error",
            "model_not_found",
            Some("model"),
        );
        assert_eq!(e["message"], "The requested model does not exist.");
    }
}

/// Sends a body with `Transfer-Encoding: chunked` (no length announced up front).
fn post_chunked(addr: SocketAddr, body: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {CHAT} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    for piece in body.chunks(500) {
        let _ = s.write_all(format!("{:x}\r\n", piece.len()).as_bytes());
        let _ = s.write_all(piece);
        let _ = s.write_all(b"\r\n");
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        http::dechunk(body.as_bytes())
    } else {
        body.as_bytes().to_vec()
    };
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

#[test]
fn a_body_over_max_body_bytes_is_a_413_announced_or_chunked() {
    let d = Daemon::start_ready(one_worker().set("server.max_body_bytes", "1024"));
    let over = vec![b'x'; 2000];
    let r = post_as(d.addr, CHAT, "too-big", &over);
    let e = assert_error(&r, 413, "invalid_request_error", "request_too_large", None);
    assert_eq!(
        e["message"],
        "The request body exceeds the limit of 1024 bytes."
    );
    let r = post_chunked(d.addr, &over);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    let mut exact = chat("fits");
    exact.resize(1024, b' ');
    assert_eq!(post_as(d.addr, CHAT, "exact", &exact).status, 200);
    assert_eq!(post_chunked(d.addr, &exact).status, 200);
    let anonymous = http::request(d.addr, "POST", CHAT, &[], &over);
    assert_error(
        &anonymous,
        401,
        "authentication_error",
        "invalid_api_key",
        None,
    );
}

#[test]
fn a_missing_or_wrong_key_is_a_401_and_the_scheme_is_case_insensitive() {
    let mut d = Daemon::start_ready(one_worker());
    let body = chat("auth");
    let bad: &[&[(&str, &str)]] = &[
        &[],
        &[("Authorization", "Bearer sk-wrong")],
        &[("Authorization", "Bearer sk-tes")],
        &[("Authorization", "Bearer sk-test2")],
        &[("Authorization", "Basic c2stdGVzdA==")],
        &[("Authorization", "Bearer")],
        &[("Authorization", "Bearer   ")],
        &[("Authorization", "sk-test")],
    ];
    for headers in bad {
        let r = http::request(d.addr, "POST", CHAT, headers, &body);
        let e = assert_error(&r, 401, "authentication_error", "invalid_api_key", None);
        assert_eq!(e["message"], "Incorrect or missing API key.");
        assert!(!r.text().contains("sk-"), "the key is never echoed");
    }
    let r = http::request(
        d.addr,
        "POST",
        RESPONSES,
        &[("Authorization", "Bearer no")],
        b"{bad",
    );
    assert_error(&r, 401, "authentication_error", "invalid_api_key", None);
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let auth = format!("{scheme} {KEY}");
        let r = http::request(d.addr, "POST", CHAT, &[("Authorization", &auth)], &body);
        assert_eq!(r.status, 200, "{scheme}: {}", r.text());
    }
    assert_eq!(d.terminate().code(), Some(0), "every log line is out");
    assert_eq!(
        d.events_named("stream_started").len(),
        3,
        "nothing runs before auth passes"
    );
    assert!(d
        .lines()
        .iter()
        .all(|l| !l.contains("sk-wrong") && !l.contains("c2stdGVzdA")));
}

#[test]
fn unknown_routes_and_methods_get_a_json_404_under_the_route_other() {
    let d = Daemon::start_ready(one_worker());
    let auth = format!("Bearer {KEY}");
    let cases = [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/v1/chat/completions"),
        ("PUT", "/v1/responses"),
        ("POST", "/v1/models"),
        ("DELETE", "/v1/models/codex-demo"),
        ("GET", "/v1/models/codex-demo/extra"),
        ("GET", "/v1/completions?model=x"),
        ("OPTIONS", "/v1/chat/completions"),
    ];
    for (i, (method, path)) in cases.iter().enumerate() {
        let id = format!("route-{i}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("X-Request-Id", id.as_str()),
        ];
        let r = http::request(d.addr, method, path, &headers, b"{}");
        let e = assert_error(&r, 404, "invalid_request_error", "not_found", None);
        assert_eq!(e["message"], "Not found.", "{method} {path}");
        let line = completed(&d, &id);
        assert_eq!(
            (line["route"].as_str(), line["status"].as_u64()),
            (Some("other"), Some(404))
        );
        assert_eq!(line["outcome"], "rejected");
    }
    let head = http::request(
        d.addr,
        "HEAD",
        "/v1/models",
        &[("X-Request-Id", "head")],
        b"",
    );
    assert_eq!(head.status, 404);
    assert_eq!(completed(&d, "head")["route"], "other");
}

#[test]
fn models_are_listed_and_fetched_from_the_catalogue() {
    let d = Daemon::start_ready(one_worker().set(
        "models",
        r#"[{id = "codex-demo", codex_model = "demo", reasoning_effort = "medium"},
            {id = "codex-fast", codex_model = "demo-fast", reasoning_effort = "low", owned_by = "acme"}]"#,
    ));
    let list = http::get(d.addr, "/v1/models");
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json(),
        json!({"object": "list", "data": [
            {"id": "codex-demo", "object": "model", "created": 0, "owned_by": "codexd"},
            {"id": "codex-fast", "object": "model", "created": 0, "owned_by": "acme"}]})
    );
    let one = http::get(d.addr, "/v1/models/codex-fast");
    assert_eq!(one.status, 200);
    assert_eq!(
        one.json(),
        json!({"id": "codex-fast", "object": "model", "created": 0, "owned_by": "acme"})
    );
    let missing = http::get(d.addr, "/v1/models/gpt-4o");
    assert_error(
        &missing,
        404,
        "invalid_request_error",
        "model_not_found",
        Some("model"),
    );
    let body = json!({"model": "codex-fast", "messages": [{"role": "user", "content": "x"}]});
    let r = post_as(d.addr, CHAT, "fast", body.to_string().as_bytes());
    assert_eq!(r.json()["model"], "codex-fast");
}

#[test]
fn protect_models_puts_the_catalogue_behind_the_key() {
    let d = Daemon::start_ready(one_worker().set("auth.protect_models", "true"));
    let auth = format!("Bearer {KEY}");
    for path in ["/v1/models", "/v1/models/codex-demo"] {
        let r = http::get(d.addr, path);
        assert_error(&r, 401, "authentication_error", "invalid_api_key", None);
        let r = http::request(
            d.addr,
            "GET",
            path,
            &[("Authorization", "Bearer nope")],
            b"",
        );
        assert_error(&r, 401, "authentication_error", "invalid_api_key", None);
        let r = http::request(d.addr, "GET", path, &[("Authorization", &auth)], b"");
        assert_eq!(r.status, 200, "{path}");
    }
}

#[test]
fn a_valid_request_id_is_kept_and_anything_else_is_replaced() {
    let d = Daemon::start_ready(one_worker());
    let long_ok = "a".repeat(128);
    for id in ["abc.DEF:123_-x", long_ok.as_str()] {
        let r = post_as(d.addr, CHAT, id, &chat("id"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-request-id"), Some(id));
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("X-Request-Id")
        );
        for must in [
            "request_received",
            "stream_started",
            "turn_started",
            "stream_ended",
            "request_completed",
        ] {
            d.wait_event(Duration::from_secs(5), must, |e| {
                e["event"] == must && e["req_id"] == id
            });
        }
    }
    let too_long = "a".repeat(129);
    for bad in [
        "",
        "has space",
        "semi;colon",
        "slash/id",
        too_long.as_str(),
        "ünï",
    ] {
        let r = post_as(d.addr, CHAT, bad, &chat("id"));
        let got = r.header("x-request-id").unwrap();
        assert_ne!(got, bad);
        assert!(
            got.len() == 36
                && got.starts_with("req_")
                && got[4..].bytes().all(|b| b.is_ascii_hexdigit()),
            "generated id {got}"
        );
    }
    let mut s = http::Streaming::open(d.addr, CHAT, &http::chat_body("sse", true));
    assert_eq!(
        stream_header(&s, "access-control-expose-headers"),
        Some("X-Request-Id")
    );
    assert!(stream_header(&s, "x-request-id").is_some_and(|v| v.starts_with("req_")));
    s.read_to_end(Duration::from_secs(5));
    let r = http::get(d.addr, "/v1/models");
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("X-Request-Id")
    );
}

/// A header of an open stream.
pub fn stream_header<'a>(s: &'a http::Streaming, name: &str) -> Option<&'a str> {
    s.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_cors_preflight_is_answered_only_when_an_origin_is_configured() {
    let open = Daemon::start_ready(
        Config::default().set("server.cors_allow_origin", "\"https://app.example\""),
    );
    let r = http::request(
        open.addr,
        "OPTIONS",
        "/v1/chat/completions",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("Authorization"));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    let closed = Daemon::start_ready(Config::default());
    let r = http::request(
        closed.addr,
        "OPTIONS",
        "/v1/chat/completions",
        &[("Origin", "https://app.example")],
        b"",
    );
    assert_eq!(r.status, 404);
    assert!(r.header("access-control-allow-origin").is_none());
    assert_eq!(r.json()["error"]["code"], "not_found");
}
