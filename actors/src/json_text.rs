//! JSON text written straight into a buffer, byte for byte as serde_json writes it: the
//! worker request lines (`worker/protocol/encode.rs`), the daemon's log lines
//! (`src/log_lines.rs`) and its non-stream chat body.

/// A JSON string, as serde_json writes it: one with nothing to escape (no `"`, `\` or
/// control character, which is every key and almost every value) is copied between quotes
/// as it is, the rest goes through serde_json's escaper (which looks at each byte in turn).
pub fn json_str(buf: &mut Vec<u8>, s: &str) {
    if plain(s.as_bytes()) {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *buf, s);
    }
}

/// The bytes serde_json escapes.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether no byte of `b` needs escaping, eight bytes at a time: most strings in a log line
/// are 5 to 40 bytes long, too short for the compiler's vector loop, which left them to a
/// byte-at-a-time tail.
fn plain(b: &[u8]) -> bool {
    let n = b.len();
    if n < 8 {
        return !b
            .iter()
            .fold(false, |any, &c| any | ESCAPED[usize::from(c)]);
    }
    let mut any = 0;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        any |= escapes(w);
    }
    if let (false, Some(last)) = (words.remainder().is_empty(), b.get(n - 8..)) {
        // The last eight bytes, overlapping words already checked.
        any |= escapes(last);
    }
    any == 0
}

/// Non-zero when one of the eight bytes is a control character, `"` or `\` (each test is
/// exact about whether such a byte exists, which is all that is asked).
fn escapes(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(w);
    let w = u64::from_le_bytes(a);
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    (control | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) & HIGH
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
            "exactly8",
            "exactly8\"",
            "a longer plain string of some 40 bytes..",
            "a longer string whose last byte is a tab\t",
            "\u{1f}a longer string whose first byte is a control",
            "a longer string with a \\ in the middle of it",
            "eight\u{7f}\u{80}ÿ bytes above 0x7f are plain: ÿÿÿÿÿÿÿÿ",
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

    /// Every ASCII byte, at every position of strings 1 to 20 bytes long (each word, the
    /// overlapping last word and the short path), is seen exactly when serde_json escapes it.
    #[test]
    fn each_byte_at_each_position_is_seen() {
        for len in 1..=20 {
            for at in 0..len {
                for c in 0u8..0x80 {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    let s = String::from_utf8(b).unwrap();
                    let mut buf = Vec::new();
                    json_str(&mut buf, &s);
                    assert_eq!(buf, serde_json::to_vec(&s).unwrap(), "{len} {at} {c}");
                    assert_eq!(plain(s.as_bytes()), c >= 0x20 && c != b'"' && c != b'\\');
                }
            }
        }
    }
}
