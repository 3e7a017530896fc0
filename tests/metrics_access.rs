//! `/metrics` access: open from loopback, bearer metrics token from anywhere else (403
//! otherwise), on the API listener and the separate metrics listener; scrapes are neither API
//! traffic nor info log lines.

use crate::metrics_scrape::{settle, Scrape};
use crate::support::daemon::{Config, Daemon};
use crate::support::http;
use actix_web::test::TestRequest;
use codexd::http::auth::metrics_allowed;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

const TOKEN: &str = "metrics-token-5c1e";

/// A non-loopback IPv4 address of this machine that can be bound (e.g. eth0), if any.
fn local_non_loopback_ip() -> Option<IpAddr> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse::<IpAddr>().ok())
        .filter(|ip| ip.is_ipv4() && !ip.is_loopback() && !ip.is_unspecified())
        .find(|ip| TcpListener::bind((*ip, 0)).is_ok())
}

#[test]
fn metrics_access_rule_unit_level() {
    let peer = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 40000);
    let req = |ip: &str, auth: Option<&str>| {
        let mut r = TestRequest::default().peer_addr(peer(ip));
        if let Some(a) = auth {
            r = r.insert_header(("Authorization", a));
        }
        r.to_http_request()
    };
    let token = Some(TOKEN.as_bytes());
    // Loopback: open, token or not, configured or not.
    for ip in ["127.0.0.1", "127.8.9.10", "::1"] {
        assert!(metrics_allowed(&req(ip, None), token), "{ip}");
        assert!(metrics_allowed(&req(ip, None), None), "{ip}");
        assert!(
            metrics_allowed(&req(ip, Some("Bearer wrong")), token),
            "{ip}"
        );
    }
    // Anywhere else: only the exact token, case-insensitive scheme.
    for ip in ["192.0.2.7", "10.0.0.1", "2001:db8::1"] {
        assert!(
            !metrics_allowed(&req(ip, None), token),
            "{ip} without token"
        );
        assert!(
            !metrics_allowed(&req(ip, Some("Bearer wrong")), token),
            "{ip}"
        );
        assert!(
            !metrics_allowed(&req(ip, Some(&format!("Bearer {TOKEN}x"))), token),
            "{ip} token prefix"
        );
        assert!(
            !metrics_allowed(&req(ip, Some(&format!("Basic {TOKEN}"))), token),
            "{ip} basic"
        );
        assert!(metrics_allowed(
            &req(ip, Some(&format!("Bearer {TOKEN}"))),
            token
        ));
        assert!(metrics_allowed(
            &req(ip, Some(&format!("bearer {TOKEN}"))),
            token
        ));
        // No token configured: never from outside.
        assert!(!metrics_allowed(&req(ip, Some("Bearer ")), None), "{ip}");
        assert!(!metrics_allowed(
            &req(ip, Some(&format!("Bearer {TOKEN}"))),
            None
        ));
    }
    // No peer address at all (not a TCP peer): treated as outside.
    let no_peer = TestRequest::default().to_http_request();
    assert!(!metrics_allowed(&no_peer, token));
}

/// Against the real binary: the API listener on loopback and the metrics listener on this
/// machine's non-loopback address (so the peer address really is not loopback).
#[test]
fn metrics_access_loopback_open_token_required_elsewhere() {
    let ip = local_non_loopback_ip().expect(
        "this test needs a bindable non-loopback address on this machine (none found via `hostname -I`)",
    );
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("metrics.listen", &format!("\"{ip}:0\""))
            .set("metrics.token", &format!("\"{TOKEN}\"")),
    );
    let outside = d.metrics_addr.expect("metrics listener bound");
    assert_eq!(outside.ip(), ip);
    let get = |addr, auth: Option<&str>| {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        http::request(addr, "GET", "/metrics", &headers, b"")
    };
    // With its own listener, /metrics has moved off the API port.
    assert_eq!(get(d.addr, None).status, 404);
    // Loopback peer (metrics on the API listener): open without a token.
    let local = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("metrics.token", &format!("\"{TOKEN}\"")),
    );
    let r = get(local.addr, None);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("codexd_build_info"));
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")));
    // Non-loopback peer: 403 without the token or with a wrong one, 200 with it.
    let bearer = format!("Bearer {TOKEN}");
    let cases = [
        (None, 403),
        (Some("Bearer wrong"), 403),
        (Some("Basic bWV0cmljcw=="), 403),
        (Some(bearer.as_str()), 200),
    ];
    for (auth, want) in cases {
        let r = get(outside, auth);
        assert_eq!(r.status, want, "auth {auth:?} from {ip}");
        if want == 403 {
            assert!(!r.text().contains("codexd_"), "403 body leaks metrics");
            assert!(!r.text().contains(TOKEN), "403 body echoes the token");
        } else {
            assert!(r.text().contains("codexd_build_info"));
        }
    }
    // The metrics listener serves /metrics and the probes, never the API.
    let api = http::request(
        outside,
        "GET",
        "/v1/models",
        &[("Authorization", "Bearer sk-test")],
        b"",
    );
    assert_eq!(api.status, 404);
    // The token is never logged.
    assert!(
        !d.lines().iter().any(|l| l.contains(TOKEN)),
        "token in logs"
    );
}

/// Scrapes and probes (200 and 403 alike) are debug lines, never info, and never counted as
/// API traffic; one API request is.
#[test]
fn metrics_scrapes_are_not_api_traffic_nor_info_lines() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("metrics.token", &format!("\"{TOKEN}\"")),
    );
    for _ in 0..5 {
        assert_eq!(http::get(d.addr, "/metrics").status, 200);
        assert_eq!(http::get(d.addr, "/livez").status, 200);
    }
    let m = Scrape::parse(&d.metrics());
    assert_eq!(m.sum("codexd_http_requests_total", &[]), 0.0);
    assert_eq!(
        m.sum("codexd_http_requests_in_flight", &[("route", "/metrics")]),
        0.0
    );
    assert_eq!(http::get(d.addr, "/v1/models").status, 200);
    let m = settle(Duration::from_secs(5), || {
        let m = Scrape::parse(&d.metrics());
        (m.sum("codexd_http_requests_total", &[]) >= 1.0, m)
    });
    assert_eq!(m.sum("codexd_http_requests_total", &[]), 1.0);
    assert!(
        m.select("codexd_http_requests_total", &[])
            .chain(m.select("codexd_http_request_duration_seconds_count", &[]))
            .all(|s| !["/metrics", "/livez", "/readyz", "/healthz"]
                .contains(&s.labels["route"].as_str())),
        "an operational route was counted as API traffic"
    );
    // At least 7 scrapes so far (5 + 1 + the polling ones); their lines are written
    // asynchronously, so wait for them.
    let completed = settle(Duration::from_secs(5), || {
        let c = d.events_named("request_completed");
        let n = c.iter().filter(|e| e["route"] == "/metrics").count();
        (n >= 7, c)
    });
    let scrapes: Vec<_> = completed
        .iter()
        .filter(|e| e["route"] == "/metrics")
        .collect();
    assert!(scrapes.len() >= 7, "scrape lines logged: {}", scrapes.len());
    assert!(
        scrapes.iter().all(|e| e["level"] == "debug"),
        "a scrape was logged above debug: {scrapes:?}"
    );
    let info: Vec<_> = completed.iter().filter(|e| e["level"] == "info").collect();
    assert_eq!(
        info.len(),
        1,
        "only the API request is an info line: {info:?}"
    );
    assert_eq!(info[0]["route"], "/v1/models");
}
