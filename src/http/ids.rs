//! Request ids and W3C trace context: keep a valid inbound `X-Request-Id`, otherwise
//! generate one; read `traceparent`, starting a new trace when it is absent or malformed.

/// True for 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn valid_request_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b))
}

/// A new random request id.
pub fn new_request_id() -> String {
    prefixed("req_", 16)
}

/// `n` random bytes as lowercase hex.
pub fn hex(n: usize) -> String {
    prefixed("", n)
}

/// `prefix`, then `n` random bytes as lowercase hex (an object id such as `chatcmpl-…`).
pub fn prefixed(prefix: &str, n: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + n * 2);
    s.push_str(prefix);
    push_hex(&mut s, n);
    s
}

/// Appends `n` random bytes as lowercase hex, drawing eight bytes at a time (one RNG call
/// each, not one per byte) and appending each word's digits at once.
fn push_hex(s: &mut String, n: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut left = n;
    while left > 0 {
        let take = left.min(8);
        let word = fastrand::u64(..).to_le_bytes();
        let mut digits = [0u8; 16];
        for (pair, b) in digits.chunks_exact_mut(2).zip(word) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 15)];
        }
        // Hex digits are ASCII: this never fails.
        s.push_str(std::str::from_utf8(&digits[..take * 2]).unwrap_or_default());
        left -= take;
    }
}

/// A parsed `traceparent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: String,
    pub parent_span_id: String,
    pub sampled: bool,
}

/// Parses a version-00 `traceparent`; anything malformed is `None`.
pub fn parse_traceparent(h: &str) -> Option<TraceParent> {
    let mut parts = h.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let is_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if version != "00"
        || parts.next().is_some()
        || !is_hex(trace, 32)
        || !is_hex(span, 16)
        || !is_hex(flags, 2)
    {
        return None;
    }
    if trace.bytes().all(|b| b == b'0') || span.bytes().all(|b| b == b'0') {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(TraceParent {
        trace_id: trace.into(),
        parent_span_id: span.into(),
        sampled: flags & 1 == 1,
    })
}

/// Formats a `traceparent` for a span.
pub fn format_traceparent(trace_id: &str, span_id: &str, sampled: bool) -> String {
    format!(
        "00-{trace_id}-{span_id}-{}",
        if sampled { "01" } else { "00" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_follow_the_allowed_alphabet() {
        assert!(valid_request_id("abc-123_X.y:z"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id(&"a".repeat(129)));
        assert!(!valid_request_id("has space"));
        assert!(!valid_request_id("emoji-😀"));
        assert!(valid_request_id(&new_request_id()));
    }

    #[test]
    fn ids_are_lowercase_hex_of_the_asked_length() {
        let id = new_request_id();
        assert!(id.starts_with("req_") && id.len() == 36, "{id}");
        for n in [0, 1, 8, 12, 16, 24] {
            let h = hex(n);
            assert_eq!(h.len(), 2 * n);
            assert!(h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        assert_ne!(hex(16), hex(16));
    }

    #[test]
    fn traceparent_parsing_rejects_malformed_headers() {
        let ok =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(ok.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(ok.sampled);
        for bad in [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
    }
}
