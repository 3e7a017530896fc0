//! Cardinality: thousands of requests with random paths, methods, model names, headers and
//! bodies leave the series count within budget and every label value in its declared set
//! (the sets of docs/metrics.md).

use crate::metrics_scrape::{docs, settle, undeclared_label_values, Scrape};
use crate::support::daemon::{Config, Daemon, KEY};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The theoretical bound for one catalogue model and one slot (docs/metrics.md, "Series
/// budget": 3,018) plus a little room. Exceeding it means a label value escaped its set.
const BUDGET: usize = 3_100;
const REQUESTS: usize = 2_000;
const THREADS: usize = 4;

fn word(rng: &mut fastrand::Rng, max: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%";
    let n = rng.usize(1..=max);
    (0..n)
        .map(|_| CHARS[rng.usize(..CHARS.len())] as char)
        .collect()
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn random_method(rng: &mut fastrand::Rng) -> String {
    let fixed = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "BREW", "PROPFIND",
    ];
    if rng.u8(..4) == 0 {
        (0..rng.usize(3..10)).map(|_| rng.uppercase()).collect()
    } else {
        pick(rng, &fixed).to_owned()
    }
}

fn random_path(rng: &mut fastrand::Rng) -> String {
    let w = word(rng, 24);
    match rng.u8(..12) {
        0 | 1 => "/v1/chat/completions".into(),
        2 => "/v1/responses".into(),
        3 => "/v1/models".into(),
        4 => format!("/v1/models/{w}"),
        5 => format!("/v1/models/{w}/{}", word(rng, 8)),
        6 => format!("/v1/chat/completions?{w}={}", word(rng, 8)),
        7 => format!("/{w}"),
        8 => format!("/v1/{w}/completions"),
        9 => format!("/metrics/{w}"),
        10 => format!("/v1/chat/completions/{w}"),
        _ => format!("//v1//{w}//"),
    }
}

fn random_body(rng: &mut fastrand::Rng, plausible: bool) -> Vec<u8> {
    let model = match rng.u8(..5) {
        _ if plausible && rng.u8(..4) != 0 => "\"codex-demo\"".to_owned(),
        0 | 1 => "\"codex-demo\"".to_owned(),
        2 => format!("\"{}\"", word(rng, 40)),
        3 => rng.u32(..).to_string(),
        _ => "null".into(),
    };
    let role = if plausible {
        "user"
    } else {
        pick(rng, &["user", "system", "assistant", "tool", "x"])
    };
    match rng.u8(..6) {
        _ if plausible => format!(
            r#"{{"model":{model},"stream":{},"input":"{}","messages":[{{"role":"user","content":"{}"}}],"{}":{}}}"#,
            rng.bool(),
            word(rng, 10),
            word(rng, 30),
            word(rng, 8),
            rng.u16(..),
        )
        .into_bytes(),
        0 => (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect(),
        1 => Vec::new(),
        2 => format!("{{\"{}\": {model}}}", word(rng, 10)).into_bytes(),
        _ => format!(
            r#"{{"model":{model},"stream":{},"input":"{}","messages":[{{"role":"{}","content":"{}"}}]}}"#,
            rng.bool(),
            word(rng, 10),
            role,
            word(rng, 30),
        )
        .into_bytes(),
    }
}

/// Sends one random request on its own connection; returns the status if one came back.
fn one(addr: SocketAddr, rng: &mut fastrand::Rng) -> Option<u16> {
    // One request in four is plausible (POST, a completion route, the key, a length), so the
    // mix also runs real streams with random models, bodies and headers.
    let plausible = rng.u8(..4) == 0;
    let (method, path) = if plausible {
        let path = pick(rng, &["/v1/chat/completions", "/v1/responses"]);
        ("POST".to_owned(), path.to_owned())
    } else {
        (random_method(rng), random_path(rng))
    };
    let body = random_body(rng, plausible);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        word(rng, 12)
    );
    if plausible || rng.bool() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    match rng.u8(..4) {
        _ if plausible => head.push_str(&format!("Authorization: Bearer {KEY}\r\n")),
        0 => head.push_str(&format!("Authorization: Bearer {KEY}\r\n")),
        1 => head.push_str(&format!("Authorization: Bearer {}\r\n", word(rng, 20))),
        _ => {}
    }
    for _ in 0..rng.usize(0..4) {
        let name = word(rng, 10).replace(['%', '.', '~'], "");
        head.push_str(&format!("X-{name}: {}\r\n", word(rng, 30)));
    }
    let extras = [
        "Content-Type: application/json",
        "Content-Type: text/plain",
        "Accept: text/event-stream",
        "X-Request-Id: not a valid id!",
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "traceparent: garbage",
        "User-Agent: fuzz/1.0 (\u{7f})",
    ];
    if rng.bool() {
        head.push_str(pick(rng, &extras));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    let _ = s.write_all(&body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let line = raw.split(|b| *b == b'\r').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn metrics_series_stay_within_budget_under_random_requests() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("workers.max_turns_per_worker", "16")
            .set("metrics.listen", "\"127.0.0.1:0\""),
    );
    let seed = fastrand::u64(..);
    eprintln!("cardinality seed: {seed}");
    let started = Instant::now();
    let addr = d.addr;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed ^ t as u64);
                let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
                for _ in 0..REQUESTS / THREADS {
                    *statuses
                        .entry(one(addr, &mut rng).unwrap_or(0))
                        .or_default() += 1;
                }
                statuses
            })
        })
        .collect();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for h in handles {
        for (k, v) in h.join().unwrap() {
            *statuses.entry(k).or_default() += v;
        }
    }
    eprintln!(
        "{REQUESTS} random requests in {:?}; statuses {statuses:?}",
        started.elapsed()
    );
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= 50,
        "the mix should include successful completions: {statuses:?}"
    );
    // Let in-flight streams end.
    let m = settle(Duration::from_secs(20), || {
        let m = Scrape::parse(&d.metrics());
        (
            m.sum("codexd_streams_active", &[]) == 0.0
                && m.sum("codexd_http_requests_in_flight", &[]) == 0.0,
            m,
        )
    });
    let counted = m.sum("codexd_http_requests_total", &[]);
    assert!(
        counted >= REQUESTS as f64 * 0.5,
        "only {counted} API requests counted"
    );
    let series = m.samples.len();
    let mut per_family: BTreeMap<String, usize> = BTreeMap::new();
    for s in &m.samples {
        *per_family.entry(m.family_of(&s.name)).or_default() += 1;
    }
    eprintln!(
        "series after {REQUESTS} random requests: {series} (budget {BUDGET}); {per_family:?}"
    );
    assert!(
        series <= BUDGET,
        "{series} series > budget {BUDGET}: {per_family:?}"
    );
    // The request-labelled families within their own bounds (docs: 200 and 1,600).
    assert!(per_family["codexd_http_requests_total"] <= 5 * 8 * 5);
    assert!(per_family["codexd_http_request_duration_seconds"] <= 5 * 8 * 2 * 20);
    let bad = undeclared_label_values(&m, &docs(), &["codex-demo"], 1);
    assert!(
        bad.is_empty(),
        "label values outside their sets:\n{}",
        bad.join("\n")
    );
    // Nothing the clients sent became a label value.
    let text = d.metrics();
    for needle in ["BREW", "PROPFIND", "TRACE", "//v1//", "/metrics/", "?"] {
        let hit = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find(|l| l.contains(needle));
        assert!(hit.is_none(), "{needle:?} leaked into a series: {hit:?}");
    }
}
