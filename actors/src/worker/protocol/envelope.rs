//! One-pass decoding of a worker line: the envelope is read field by field, and a
//! notification's `params` (Codex writes `method` before `params`) are decoded straight into
//! `NoteParams`, borrowing from the line, instead of being captured raw and parsed again.
//! Anything this pass does not take in its stride (params of an unexpected shape, `params`
//! before `method`, duplicate keys, not JSON at all) is decoded again by the lenient
//! two-pass decoder, so the outcome of every line is what that decoder says.

use super::{NoteParams, ResultShape, RpcError, RpcResult, StartedIds};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// The envelope as one pass reads it.
pub(super) struct Fast<'a> {
    pub id: Option<Value>,
    pub method: Option<Cow<'a, str>>,
    pub params: Params<'a>,
    pub result: RpcResult<'a>,
    pub error: Option<RpcError>,
}

/// `params`, decoded in passing when the line is a notification so far, else captured raw.
#[expect(
    clippy::large_enum_variant,
    reason = "lives on the stack for one line; boxing would allocate per notification"
)]
pub(super) enum Params<'a> {
    Absent,
    Note(NoteParams<'a>),
    Raw(&'a RawValue),
}

/// A string borrowed from the line when it has no escapes (a bare `Cow` is always owned:
/// only a derived field marked `borrow` borrows).
#[derive(Deserialize)]
pub(super) struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Id,
    Method,
    Params,
    Result,
    Error,
    #[serde(other)]
    Other,
}

/// Gives up the fast pass (the lenient decoder takes the line).
fn give_up<E: de::Error>() -> E {
    E::custom("not on the fast path")
}

/// Decodes `line` in one pass; an answer's result as `shape(id)` says. A line that is valid
/// UTF-8 (every line Codex writes) is checked once, whole, and read as a `str`: read from
/// bytes, serde_json checks each of a line's 10–30 strings (keys included) on its own.
pub(super) fn decode_fast(
    line: &[u8],
    shape: impl Fn(u64) -> ResultShape,
) -> serde_json::Result<Fast<'_>> {
    match std::str::from_utf8(line) {
        Ok(text) => decode_from(serde_json::de::StrRead::new(text), shape),
        Err(_) => decode_from(serde_json::de::SliceRead::new(line), shape),
    }
}

fn decode_from<'de, R: serde_json::de::Read<'de>>(
    read: R,
    shape: impl Fn(u64) -> ResultShape,
) -> serde_json::Result<Fast<'de>> {
    let mut de = serde_json::Deserializer::new(read);
    let fast = FastVisitor(shape).deserialize(&mut de)?;
    de.end()?;
    Ok(fast)
}

/// The envelope's visitor, with what to read an answer's result as.
struct FastVisitor<F>(F);

impl<'de, F: Fn(u64) -> ResultShape> DeserializeSeed<'de> for FastVisitor<F> {
    type Value = Fast<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fast<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Fn(u64) -> ResultShape> Visitor<'de> for FastVisitor<F> {
    type Value = Fast<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast<'de>, A::Error> {
        let mut out = Fast {
            id: None,
            method: None,
            params: Params::Absent,
            result: RpcResult::Raw(None),
            error: None,
        };
        // Which keys were present (a duplicate is left to the lenient decoder's verdict).
        let mut seen = [false; 5];
        let mut once = |i: usize| {
            if std::mem::replace(&mut seen[i], true) {
                Err(give_up::<A::Error>())
            } else {
                Ok(())
            }
        };
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => {
                    once(0)?;
                    out.id = map.next_value()?;
                    // `params` already read as a notification's, but this is a request.
                    if out.id.is_some() && matches!(out.params, Params::Note(_)) {
                        return Err(give_up());
                    }
                }
                Key::Method => {
                    once(1)?;
                    out.method = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0);
                }
                Key::Params => {
                    once(2)?;
                    out.params = if out.method.is_some() && out.id.is_none() {
                        match map.next_value::<Option<NoteParams<'de>>>()? {
                            Some(p) => Params::Note(p),
                            None => Params::Absent,
                        }
                    } else {
                        match map.next_value::<Option<&'de RawValue>>()? {
                            Some(r) => Params::Raw(r),
                            None => Params::Absent,
                        }
                    };
                }
                Key::Result => {
                    once(3)?;
                    let shape = out.id.as_ref().and_then(Value::as_u64).map(&self.0);
                    out.result = if shape == Some(ResultShape::Ids) {
                        let ids = map.next_value::<Option<StartedIds<'de>>>()?;
                        ids.map_or(RpcResult::Raw(None), RpcResult::Ids)
                    } else {
                        RpcResult::Raw(map.next_value()?)
                    };
                }
                Key::Error => {
                    once(4)?;
                    out.error = map.next_value()?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(line: &[u8]) -> Option<Fast<'_>> {
        decode_fast(line, |_| ResultShape::Raw).ok()
    }

    #[test]
    fn codex_lines_take_the_one_pass_and_borrow() {
        let delta = br#"{"method":"item/agentMessage/delta","params":{"threadId":"thr_1","turnId":"u","itemId":"m","delta":" sa"},"emittedAtMs":1}"#;
        let f = fast(delta).unwrap();
        assert!(matches!(
            f.method,
            Some(Cow::Borrowed("item/agentMessage/delta"))
        ));
        let Params::Note(p) = f.params else { panic!() };
        assert!(matches!(p.thread_id, Some(Cow::Borrowed("thr_1"))));
        assert!(matches!(p.delta, Some(Cow::Borrowed(" sa"))));
        let response = br#"{"id":17,"result":{"turn":{"id":"turn_42","items":[]}}}"#;
        let f = fast(response).unwrap();
        assert_eq!(f.id, Some(Value::from(17)));
        let RpcResult::Raw(Some(raw)) = f.result else {
            panic!()
        };
        assert_eq!(raw.get(), r#"{"turn":{"id":"turn_42","items":[]}}"#);
        let request = br#"{"id":"r1","method":"item/tool/call","params":{"threadId":"t"}}"#;
        assert!(matches!(fast(request).unwrap().params, Params::Raw(_)));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_read_as_bytes_and_refused_as_before() {
        let mut line =
            br#"{"method":"item/agentMessage/delta","params":{"threadId":"t","delta":"x"}}"#
                .to_vec();
        assert!(fast(&line).is_some());
        let at = line.len() - 4;
        line[at] = 0xff;
        assert!(fast(&line).is_none());
        assert!(super::super::decode(&line).is_err());
    }

    #[test]
    fn what_the_one_pass_does_not_take_goes_to_the_lenient_decoder() {
        // params of another shape, duplicate keys, an id after a notification's params.
        assert!(fast(br#"{"method":"x","params":[1,2]}"#).is_none());
        assert!(fast(br#"{"method":"x","method":"y"}"#).is_none());
        assert!(fast(br#"{"method":"x","params":{"threadId":"t"},"id":3}"#).is_none());
        assert!(fast(br#"[1,2]"#).is_none());
        // params before method: captured raw (the notification reads them after).
        let f = fast(br#"{"params":{"threadId":"t"},"method":"x"}"#).unwrap();
        assert!(matches!(f.params, Params::Raw(_)));
    }
}
