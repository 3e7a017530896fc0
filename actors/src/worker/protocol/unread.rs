//! The hottest worker lines read where they stand, without the decoder, when they open
//! exactly as Codex writes them: the notifications codexd reads nothing of are routed by
//! their method; the `thread/start` and `turn/start` answers give their id; and an
//! `item/agentMessage/delta` whose whole line is exactly Codex's shape gives its thread id
//! and text. Any other line, or one that deviates, is decoded
//! (`envelope.rs`, then the lenient decoder).

use super::{IdOnly, Incoming, NoteParams, ResultShape, RpcResult, StartedIds};
use std::borrow::Cow;

/// The line as one of the shapes below, or `None` for the decoder.
pub(super) fn read<'a>(
    line: &'a [u8],
    shape: &impl Fn(u64) -> ResultShape,
) -> Option<Incoming<'a>> {
    if let Some(method) = unread_notification(line) {
        return Some(Incoming::Notification {
            method: Cow::Borrowed(method),
            params: NoteParams::default(),
        });
    }
    if let Some(n) = delta(line) {
        return Some(n);
    }
    let (id, ids) = unread_started_ids(line, shape)?;
    Some(Incoming::Response {
        id,
        outcome: Ok(RpcResult::Ids(ids)),
    })
}

/// `{"method":"item/agentMessage/delta","params":{"threadId":"…","turnId":"…","itemId":"…",
/// "delta":"…"}}`, optionally with `,"emittedAtMs":N` before the last brace, and nothing
/// else: the thread id and the text (unescaped when it has escapes) are what the decoder
/// would give, since the line is checked whole.
fn delta(line: &[u8]) -> Option<Incoming<'_>> {
    let rest =
        line.strip_prefix(br#"{"method":"item/agentMessage/delta","params":{"threadId":""#)?;
    let (thread, rest) = plain_string(rest)?;
    let (_, rest) = plain_string(rest.strip_prefix(br#","turnId":""#)?)?;
    let (_, rest) = plain_string(rest.strip_prefix(br#","itemId":""#)?)?;
    let (text, rest) = string(rest.strip_prefix(br#","delta":""#)?)?;
    let rest = rest.strip_prefix(b"}")?;
    let tail_ok = rest == b"}"
        || rest
            .strip_prefix(br#","emittedAtMs":"#)
            .and_then(|r| r.strip_suffix(b"}"))
            .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit));
    tail_ok.then(|| Incoming::Notification {
        method: Cow::Borrowed("item/agentMessage/delta"),
        params: NoteParams {
            thread_id: Some(Cow::Borrowed(thread)),
            delta: Some(text),
            ..NoteParams::default()
        },
    })
}

/// A string's text up to its closing quote, when it has no escape and no control
/// character (an id), and what follows the quote.
fn plain_string(s: &[u8]) -> Option<(&str, &[u8])> {
    let end = memchr::memchr2(b'"', b'\\', s)?;
    if s.get(end) != Some(&b'"') {
        return None;
    }
    let (text, rest) = s.split_at(end);
    if text.iter().any(|&b| b < 0x20) {
        return None;
    }
    Some((std::str::from_utf8(text).ok()?, rest.get(1..)?))
}

/// A string's value up to its closing quote, borrowed when it has no escape and unescaped
/// by serde_json when it has, and what follows the quote.
fn string(s: &[u8]) -> Option<(Cow<'_, str>, &[u8])> {
    if let Some((text, rest)) = plain_string(s) {
        return Some((Cow::Borrowed(text), rest));
    }
    // The closing quote is the first one that no backslash escapes.
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'"' => break,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    let quoted = std::str::from_utf8(s.get(..=i)?).ok()?;
    // The opening quote was stripped with the key: the literal is `"` + quoted.
    let text: String = serde_json::from_str(&format!("\"{quoted}")).ok()?;
    Some((Cow::Owned(text), s.get(i + 1..)?))
}

/// Notifications whose params codexd never reads, by method and what the line goes on with
/// after it: `thread/started` carries the whole thread (about 800 bytes, once per request);
/// `item/started` and `item/completed` of an agent message carry the whole message (300–400
/// bytes each, once per message). None of them means anything to a turn; items of other
/// types are decoded as before.
const UNREAD: &[(&str, &[u8])] = &[
    ("thread/started", b"\","),
    (
        "item/started",
        b"\",\"params\":{\"item\":{\"type\":\"agentMessage\",",
    ),
    (
        "item/completed",
        b"\",\"params\":{\"item\":{\"type\":\"agentMessage\",",
    ),
];

/// The method of a line that opens as Codex writes such a notification
/// (`{"method":"thread/started",…`): it is routed by its method without being decoded, so
/// the rest of the line is not checked either (elsewhere, params of an odd shape are
/// skipped all the same, never a protocol error).
fn unread_notification(line: &[u8]) -> Option<&'static str> {
    let rest = line.strip_prefix(b"{\"method\":\"")?;
    UNREAD.iter().find_map(|(m, then)| {
        rest.strip_prefix(m.as_bytes())
            .is_some_and(|r| r.starts_with(then))
            .then_some(*m)
    })
}

/// The id of an answer read for its ids (`ResultShape::Ids`) that opens as Codex writes
/// them, `{"id":7,"result":{"thread":{"id":"thr_…",…` (or `"turn"` for `turn/start`), with
/// that id: the thread or turn id is taken where it stands and the rest of the line (the
/// whole thread, about 1.1 KB per request) is neither decoded nor checked. Anything else,
/// an id with escapes included, goes through the decoder.
fn unread_started_ids<'a>(
    line: &'a [u8],
    shape: &impl Fn(u64) -> ResultShape,
) -> Option<(u64, StartedIds<'a>)> {
    let rest = line.strip_prefix(b"{\"id\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let id: u64 = std::str::from_utf8(rest.get(..digits)?)
        .ok()?
        .parse()
        .ok()?;
    if shape(id) != ResultShape::Ids {
        return None;
    }
    let rest = rest.get(digits..)?.strip_prefix(b",\"result\":{\"")?;
    let (is_thread, rest) = match rest.strip_prefix(b"thread\":{\"id\":\"") {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix(b"turn\":{\"id\":\"")?),
    };
    let (text, _) = plain_string(rest)?;
    let one = Some(IdOnly {
        id: Some(Cow::Borrowed(text)),
    });
    let (thread, turn) = if is_thread { (one, None) } else { (None, one) };
    Some((id, StartedIds { thread, turn }))
}

#[cfg(test)]
mod tests {
    use super::super::envelope;
    use super::*;

    /// What the one-pass decoder makes of a line (the reference for the shortcuts).
    fn decoded(line: &[u8]) -> String {
        let f = envelope::decode_fast(line, |_| ResultShape::Raw).unwrap();
        format!(
            "{:?}",
            super::super::incoming(f.id, f.method, f.params, f.result, f.error)
        )
    }

    #[test]
    fn a_delta_line_of_codex_shape_reads_as_the_decoder_reads_it() {
        for line in [
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"thr_1","turnId":"turn_1","itemId":"msg_1","delta":"You s"},"emittedAtMs":1796225905717}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":" the model."}}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"a \"q\"\n\\ \u00e9 \ud83d\ude00 é"}}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":""}}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"\\"}}"#,
        ] {
            let read = delta(line.as_bytes()).map(|n| format!("{:?}", Ok::<_, ()>(n)));
            assert_eq!(read, Some(decoded(line.as_bytes())), "{line}");
        }
    }

    #[test]
    fn a_delta_line_of_any_other_shape_goes_to_the_decoder() {
        for line in [
            // Keys in another order, an extra key, an escaped id, a control character,
            // trailing bytes, a broken tail, a bad timestamp, an unterminated text.
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","itemId":"m1","turnId":"U","delta":"x"}}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"x","extra":1}}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T\u0041","turnId":"U","itemId":"m1","delta":"x"}}"#,
            "{\"method\":\"item/agentMessage/delta\",\"params\":{\"threadId\":\"T\",\"turnId\":\"U\",\"itemId\":\"m1\",\"delta\":\"a\tb\"}}",
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"x"}} "#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"x"},"other":1}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"x"},"emittedAtMs":}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"x\"}}"#,
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"\x"}}"#,
        ] {
            assert!(delta(line.as_bytes()).is_none(), "{line}");
        }
        let mut bad_utf8 = br#"{"method":"item/agentMessage/delta","params":{"threadId":"T","turnId":"U","itemId":"m1","delta":"x"}}"#.to_vec();
        let at = bad_utf8.len() - 4;
        bad_utf8[at] = 0xff;
        assert!(delta(&bad_utf8).is_none());
    }
}
