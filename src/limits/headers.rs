//! The `x-ratelimit-*` response headers, named and formatted as OpenAI sends them: limit,
//! remaining and reset for requests and tokens, reset as a duration such as `1s`, `6m0s` or
//! `120ms`.

use super::Snapshot;
use std::time::Duration;

/// OpenAI's reset format (Go's duration notation): `850ms`, `1s`, `8.6s`, `6m0s`, `1h2m3s`.
pub fn format_reset(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, frac) = (rest / 1000, rest % 1000);
    let mut secs = s.to_string();
    if frac > 0 {
        let f = format!("{frac:03}");
        secs.push('.');
        secs.push_str(f.trim_end_matches('0'));
    }
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// The header pairs for one snapshot (only for the limits the key has).
pub fn pairs(s: &Snapshot) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(6);
    if let Some(w) = s.requests {
        out.push(("x-ratelimit-limit-requests", w.limit.to_string()));
        out.push(("x-ratelimit-remaining-requests", w.remaining.to_string()));
        out.push(("x-ratelimit-reset-requests", format_reset(w.reset)));
    }
    if let Some(w) = s.tokens {
        out.push(("x-ratelimit-limit-tokens", w.limit.to_string()));
        out.push(("x-ratelimit-remaining-tokens", w.remaining.to_string()));
        out.push(("x-ratelimit-reset-tokens", format_reset(w.reset)));
    }
    out
}
