//! JSON text written straight into a buffer, byte for byte as serde_json writes it: the
//! worker request lines (`worker/protocol/encode.rs`), the daemon's log lines
//! (`src/log_lines.rs`) and its non-stream chat body.

/// A JSON string, as serde_json writes it: one with nothing to escape (no `"`, `\` or
/// control character, which is every key and almost every value) is copied between quotes
/// as it is, the rest goes through serde_json's escaper (which looks at each byte in turn).
pub fn json_str(buf: &mut Vec<u8>, s: &str) {
    // No early exit, so that the check compiles to vector compares.
    let needs_escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *buf, s);
    }
}

/// An unsigned integer, as serde_json writes it.
pub fn json_u64(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "plain",
            "a \"quote\"",
            "back\\slash",
            "line\nbreak\ttab\u{1}\u{1f}",
            "del\u{7f} é ✓ 😀",
            "/path/with/slashes",
        ] {
            let mut buf = Vec::new();
            json_str(&mut buf, s);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }
}
