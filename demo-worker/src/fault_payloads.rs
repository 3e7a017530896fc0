//! The payloads of the hostile-output faults, built once per run: the `OVERSIZED_LINE_BYTES` line
//! and the `STDERR_FLOOD_LINES` text.

/// A line of exactly `bytes` bytes (newline excluded): a JSON notification padded with `x`, or
/// bare `x`s when `bytes` is too small to hold the JSON.
pub fn oversized_line(bytes: usize) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"method":"codexd/demo/oversized","params":{"padding":""#;
    const TAIL: &[u8] = br#""}}"#;
    if bytes < HEAD.len() + TAIL.len() {
        return vec![b'x'; bytes];
    }
    let mut line = Vec::with_capacity(bytes + 1);
    line.extend_from_slice(HEAD);
    line.resize(bytes - TAIL.len(), b'x');
    line.extend_from_slice(TAIL);
    line
}

/// `lines` lines shaped like Codex's ANSI tracing output, each carrying the canary.
pub fn stderr_flood(lines: u64, canary: &str) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    for i in 1..=lines {
        let _ = writeln!(
            text,
            "\u{1b}[2m1970-01-01T00:00:00.000000Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m \
             codexd_demo_worker: flood line {i}/{lines} {canary}"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oversized_line_has_exactly_the_requested_length() {
        for bytes in [1, 10, 58, 59, 60, 1000, 1 << 20] {
            let line = oversized_line(bytes);
            assert_eq!(line.len(), bytes);
            assert!(!line.contains(&b'\n'));
        }
        let line = oversized_line(100);
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["method"], "codexd/demo/oversized");
    }

    #[test]
    fn every_flood_line_carries_the_canary() {
        let text = stderr_flood(3, "canary-1");
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().all(|l| l.ends_with("canary-1")));
    }
}
