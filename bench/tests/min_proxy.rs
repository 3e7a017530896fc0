//! `codexd-min-proxy` end to end: the real binary over real demo workers (`codexd
//! demo-worker` of `CODEXD_BIN`, or the `codexd` Cargo built beside these tests), checked
//! byte for byte on a unary and a streamed answer, under more turns than one worker takes,
//! and on shutdown (stdin closed: the proxy and its workers exit).
#![expect(
    clippy::expect_used,
    reason = "test code: a failed expectation is a failed test, reported by panicking with context"
)]

use codexd_test_support::paths;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proxy {
    child: Child,
    base: String,
    workers: Vec<u32>,
}

fn codexd() -> PathBuf {
    let bin = paths::codexd_bin();
    assert!(
        bin.is_file(),
        "no codexd binary at {}: set CODEXD_BIN to a codexd built with the demo worker \
         (e.g. CODEXD_BIN=target/release/codexd, after `cargo build -p codexd`)",
        bin.display()
    );
    bin
}

fn start(workers: usize, max_turns: usize) -> Proxy {
    let mut child = Command::new(env!("CARGO_BIN_EXE_codexd-min-proxy"))
        .args(["--codexd".as_ref(), codexd().as_os_str()])
        .args([
            "--workers",
            &workers.to_string(),
            "--max-turns",
            &max_turns.to_string(),
        ])
        .args(["--api-key", "sk-test"])
        .env("CODEXD_DEMO_CHUNKS", "5")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn codexd-min-proxy");
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("read");
    let mut parts = line.split_whitespace();
    let base = format!("http://{}", parts.next().expect("address"));
    let workers = parts.map(|p| p.parse().expect("pid")).collect();
    Proxy {
        child,
        base,
        workers,
    }
}

async fn post(p: &Proxy, key: &str, body: &str) -> (u16, String, String) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut resp = client
        .post(format!("{}/v1/chat/completions", p.base))
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("content-type", "application/json"))
        .send_body(body.to_owned())
        .await
        .expect("send");
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    let body = resp.body().limit(1 << 20).await.expect("body");
    (
        resp.status().as_u16(),
        ct,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

fn field<'a>(s: &'a str, after: &str, until: char) -> &'a str {
    let i = s.find(after).expect(after) + after.len();
    &s[i..i + s[i..].find(until).expect("end")]
}

#[actix_rt::test]
async fn answers_unary_and_streamed_requests_byte_for_byte() {
    let p = start(2, 32);
    let (status, ct, body) = post(&p, "sk-test", r#"{"model":"codex-demo","messages":[{"role":"system","content":"x"},{"role":"user","content":"Say \"hi\"."}]}"#).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"), "{body}");
    let (id, created) = (
        field(&body, "\"id\":\"", '"'),
        field(&body, "\"created\":", ','),
    );
    assert!(id.starts_with("chatcmpl-") && id.len() == 33, "{id}");
    let want = format!(
        r#"{{"choices":[{{"finish_reason":"stop","index":0,"logprobs":null,"message":{{"content":"You said: Say \"hi\".","refusal":null,"role":"assistant"}}}}],"created":{created},"id":"{id}","model":"codex-demo","object":"chat.completion","system_fingerprint":null,"usage":{{"completion_tokens":5,"completion_tokens_details":{{"reasoning_tokens":0}},"prompt_tokens":3,"prompt_tokens_details":{{"cached_tokens":0}},"total_tokens":8}}}}"#
    );
    assert_eq!(body, want);
    let v: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "You said: Say \"hi\"."
    );

    let (status, ct, body) = post(&p, "sk-test", r#"{"model":"codex-demo","messages":[{"role":"user","content":"Say hello."}],"stream":true}"#).await;
    assert_eq!((status, ct.as_str()), (200, "text/event-stream"), "{body}");
    let (id, created) = (
        field(&body, "\"id\":\"", '"'),
        field(&body, "\"created\":", ','),
    );
    let head = format!(
        r#"data: {{"id":"{id}","object":"chat.completion.chunk","created":{created},"model":"codex-demo","system_fingerprint":null,"choices":[{{"index":0,"delta":"#
    );
    let mut want = format!("{head}{{\"content\":\"\",\"role\":\"assistant\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n");
    for piece in ["You ", "said", ": Sa", "y he", "llo."] {
        want += &format!(
            "{head}{{\"content\":\"{piece}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        );
    }
    want += &format!(
        "{head}{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}\n\ndata: [DONE]\n\n"
    );
    assert_eq!(body, want);

    let (status, _, _) = post(&p, "sk-wrong", r#"{"messages":[]}"#).await;
    assert_eq!(status, 401);
    let (status, _, _) = post(
        &p,
        "sk-test",
        r#"{"messages":[{"role":"user","content":[]}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    stop(p);
}

#[actix_rt::test]
async fn queues_turns_beyond_the_cap_and_exits_with_its_workers_on_stdin_close() {
    // One worker with room for 4: 20 concurrent requests must all complete, in turn.
    let p = start(1, 4);
    assert_eq!(p.workers.len(), 1);
    let body = r#"{"model":"codex-demo","messages":[{"role":"user","content":"Say hello."}]}"#;
    let all = futures_util::future::join_all((0..20).map(|_| post(&p, "sk-test", body))).await;
    for (status, _, b) in &all {
        assert_eq!(*status, 200, "{b}");
        assert!(b.contains(r#""content":"You said: Say hello.""#), "{b}");
    }
    stop(p);
}

fn stop(mut p: Proxy) {
    drop(p.child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = p.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "proxy still running 10 s after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    for pid in p.workers {
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        assert!(!alive, "worker {pid} outlived the proxy");
    }
}
