//! The engine's rules on the local backend: windows, refusals, Retry-After, slots, headers.

use super::headers::{format_reset, pairs};
use super::*;

fn limiter(defaults: KeyLimits, keys: Vec<(&str, KeyLimits)>) -> Arc<Limiter> {
    let mut c = Config::default();
    c.limits.requests_per_minute = defaults.requests_per_minute;
    c.limits.tokens_per_minute = defaults.tokens_per_minute;
    c.limits.max_concurrent = defaults.max_concurrent;
    let m = LimitMetrics::register(&Registry::new(), LimitsBackend::Local, None).unwrap();
    Limiter::new(
        &c,
        keys.into_iter().map(|(k, l)| (Arc::<str>::from(k), l)),
        m,
    )
    .unwrap()
}

fn rpm(n: u32) -> KeyLimits {
    KeyLimits {
        requests_per_minute: Some(n),
        ..KeyLimits::default()
    }
}

#[test]
fn reset_is_formatted_as_openai_does() {
    assert_eq!(format_reset(Duration::from_millis(120)), "120ms");
    assert_eq!(format_reset(Duration::from_secs(1)), "1s");
    assert_eq!(format_reset(Duration::from_millis(8_640)), "8.64s");
    assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
    assert_eq!(format_reset(Duration::from_millis(90_500)), "1m30.5s");
    assert_eq!(format_reset(Duration::from_secs(3723)), "1h2m3s");
}

#[test]
fn own_limits_fall_back_to_the_defaults() {
    let l = limiter(
        KeyLimits {
            tokens_per_minute: Some(100),
            ..rpm(10)
        },
        vec![("a", rpm(2))],
    );
    assert_eq!(l.limits_of("a").requests_per_minute, Some(2));
    assert_eq!(l.limits_of("a").tokens_per_minute, Some(100));
    assert_eq!(l.limits_of("b").requests_per_minute, Some(10));
}

#[test]
fn requests_past_the_limit_are_refused_until_the_window_ends() {
    let w = local::Windows::default();
    let key: Arc<str> = "a".into();
    let l = rpm(2);
    let t0 = 10 * WINDOW_MS + 15_000;
    assert_eq!(w.check(&key, &l, t0).rejected, None);
    assert_eq!(w.check(&key, &l, t0).requests, 2);
    let c = w.check(&key, &l, t0 + 1);
    assert_eq!(c.rejected, Some(LimitKind::Requests));
    let s = snapshot(&l, &c, t0 + 1);
    let r = rejection(LimitKind::Requests, &l, &c, s);
    // 44.999 s left in the window: Retry-After rounds up.
    assert_eq!(r.retry_after_s, 45);
    assert_eq!(r.used, 2);
    assert_eq!(s.requests.map(|w| w.remaining), Some(0));
    assert_eq!(w.check(&key, &l, 11 * WINDOW_MS).rejected, None);
}

#[test]
fn tokens_admit_while_the_window_is_not_exhausted() {
    let w = local::Windows::default();
    let key: Arc<str> = "a".into();
    let l = KeyLimits {
        tokens_per_minute: Some(100),
        ..KeyLimits::default()
    };
    assert_eq!(w.check(&key, &l, 0).rejected, None);
    w.charge(&key, 99, 1);
    assert_eq!(w.check(&key, &l, 2).rejected, None);
    w.charge(&key, 50, 3);
    let c = w.check(&key, &l, 4);
    assert_eq!(c.rejected, Some(LimitKind::Tokens));
    assert_eq!(c.tokens, 149);
    assert_eq!(w.check(&key, &l, WINDOW_MS).rejected, None);
}

#[actix_rt::test]
async fn a_slot_is_given_back_when_the_permit_drops() {
    let l = limiter(
        KeyLimits {
            max_concurrent: Some(1),
            ..KeyLimits::default()
        },
        vec![],
    );
    let key: Arc<str> = "a".into();
    let first = l.admit(&key).await;
    assert!(matches!(first, Verdict::Admitted(_)));
    match l.admit(&key).await {
        Verdict::Rejected(r) => {
            assert_eq!(r.kind, LimitKind::Concurrency);
            assert_eq!(r.retry_after_s, 1);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    drop(first);
    assert!(matches!(l.admit(&key).await, Verdict::Admitted(_)));
    assert_eq!(
        l.metrics.rejected.with_label_values(&["concurrency"]).get(),
        1
    );
}

#[actix_rt::test]
async fn unlimited_keys_carry_no_headers() {
    let l = limiter(KeyLimits::default(), vec![("a", rpm(3))]);
    assert!(matches!(l.admit(&"b".into()).await, Verdict::Unlimited));
    let Verdict::Admitted(p) = l.admit(&"a".into()).await else {
        panic!("admitted");
    };
    let h = pairs(&p.snapshot.unwrap());
    assert_eq!(h[0], ("x-ratelimit-limit-requests", "3".into()));
    assert_eq!(h[1], ("x-ratelimit-remaining-requests", "2".into()));
    assert_eq!(h.len(), 3);
}
