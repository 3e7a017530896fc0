//! A real Prometheus server (Debian's package, started on loopback by the test) scrapes
//! codexd's metrics listener; its HTTP API then shows `up`, the build info and request
//! counters that match what was sent.

use crate::support::daemon::{Config, Daemon};
use crate::support::http::{self, chat_body};
use crate::support::prometheus::Prometheus;
use std::time::Duration;

#[test]
fn prometheus_server_scrapes_codexd_metrics() {
    let d = Daemon::start_ready(
        Config::default()
            .set("workers.count", "1")
            .set("metrics.listen", "\"127.0.0.1:0\""),
    );
    let target = d.metrics_addr.expect("metrics listener");
    let prom = Prometheus::start(&[target], &[]);
    let up = prom.wait_for("up{job=\"codexd\"}", 1.0, Duration::from_secs(30));
    assert_eq!(up, Some(1.0), "prometheus never saw codexd up");

    let build = prom.vector("codexd_build_info");
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(build[0]["metric"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(build[0]["value"][1], "1");

    const COMPLETIONS: usize = 7;
    const NOT_FOUND: usize = 3;
    for i in 0..COMPLETIONS {
        let r = http::post(
            d.addr,
            "/v1/chat/completions",
            &chat_body(&format!("n{i}"), false),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for _ in 0..NOT_FOUND {
        assert_eq!(http::get(d.addr, "/no/such/route").status, 404);
    }
    let total = (COMPLETIONS + NOT_FOUND) as f64;
    let got = prom.wait_for(
        "sum(codexd_http_requests_total{job=\"codexd\"})",
        total,
        Duration::from_secs(20),
    );
    assert_eq!(got, Some(total), "requests seen by prometheus");
    let ok = prom.value(
        "sum(codexd_http_requests_total{route=\"/v1/chat/completions\",status_class=\"2xx\"})",
    );
    assert_eq!(ok, Some(COMPLETIONS as f64));
    let other = prom.value("sum(codexd_http_requests_total{route=\"other\"})");
    assert_eq!(other, Some(NOT_FOUND as f64));
    let streams = prom.value("sum(codexd_streams_total{outcome=\"completed\"})");
    assert_eq!(streams, Some(COMPLETIONS as f64));
    // PromQL over our histogram works end to end.
    let p50 = prom.value(
        "histogram_quantile(0.5, sum by (le) (codexd_stream_time_to_first_token_seconds_bucket))",
    );
    assert!(p50.is_some_and(|v| v > 0.0 && v < 1.0), "ttft p50 {p50:?}");
    drop(prom);
}
