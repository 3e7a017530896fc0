//! The model's raw reasoning items (`rawResponseItem/completed` with a `reasoning` item):
//! read out of the worker's notification into the id, the summary texts and the
//! `encrypted_content` a Responses client asked to get back
//! (`include: ["reasoning.encrypted_content"]`). Both the summary and the encrypted content
//! are model content: `Debug` shows only their sizes, and nothing here is ever logged.

use crate::worker::protocol::NoteItem;
use serde_json::value::RawValue;
use serde_json::Value;

/// One raw reasoning item of a model response.
#[derive(Clone, PartialEq, Eq)]
pub struct ReasoningItem {
    /// The item's id, when the worker sent one (Codex 0.171 may leave it out).
    pub id: Option<String>,
    /// The summary texts, in order.
    pub summary: Vec<String>,
    /// Opaque to codexd; never logged.
    pub encrypted_content: Option<String>,
}

impl std::fmt::Debug for ReasoningItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReasoningItem")
            .field("id", &self.id)
            .field("summary_parts", &self.summary.len())
            .field(
                "encrypted_bytes",
                &self.encrypted_content.as_ref().map(String::len),
            )
            .finish()
    }
}

fn string_of(raw: Option<&RawValue>) -> Option<String> {
    raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

impl ReasoningItem {
    /// The reasoning item of a `rawResponseItem/completed` notification's `params.item`;
    /// `None` for any other item.
    pub fn from_note(item: &NoteItem<'_>) -> Option<Self> {
        if item.kind.as_deref() != Some("reasoning") {
            return None;
        }
        let summary = item
            .summary
            .and_then(|r| serde_json::from_str::<Vec<Value>>(r.get()).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Some(Self {
            id: string_of(item.id).filter(|s| !s.is_empty()),
            summary,
            encrypted_content: string_of(item.encrypted_content),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::protocol::{decode, Incoming};

    fn item_of(line: &str) -> Option<ReasoningItem> {
        let Ok(Incoming::Notification { params, .. }) = decode(line.as_bytes()) else {
            panic!("not a notification: {line}");
        };
        params.item.as_ref().and_then(ReasoningItem::from_note)
    }

    #[test]
    fn a_raw_reasoning_item_is_read_with_its_encrypted_content() {
        let got = item_of(
            r#"{"method":"rawResponseItem/completed","params":{"threadId":"t","turnId":"u",
               "item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"a\"b"},
               {"type":"summary_text","text":"c"}],"content":null,"encrypted_content":"gAAA\u00e9=="}}}"#,
        )
        .unwrap();
        assert_eq!(got.id.as_deref(), Some("rs_1"));
        assert_eq!(got.summary, vec!["a\"b".to_owned(), "c".to_owned()]);
        assert_eq!(got.encrypted_content.as_deref(), Some("gAAAé=="));
        // Debug never shows the content.
        let shown = format!("{got:?}");
        assert!(
            !shown.contains("gAAA") && !shown.contains("a\\\"b"),
            "{shown}"
        );
    }

    #[test]
    fn other_items_and_missing_fields() {
        assert!(item_of(
            r#"{"method":"rawResponseItem/completed","params":{"threadId":"t","item":{"type":"function_call","name":"f"}}}"#
        )
        .is_none());
        let bare = item_of(
            r#"{"method":"rawResponseItem/completed","params":{"threadId":"t","item":{"type":"reasoning","summary":[]}}}"#,
        )
        .unwrap();
        assert_eq!(bare.id, None);
        assert!(bare.summary.is_empty() && bare.encrypted_content.is_none());
        // A thread item whose summary is an array of strings keeps the notification routable.
        let Ok(Incoming::Notification { params, .. }) = decode(
            br#"{"method":"item/completed","params":{"threadId":"t","item":{"type":"reasoning","id":"r","summary":["x"],"content":[]}}}"#,
        ) else {
            panic!()
        };
        assert_eq!(params.thread_id.as_deref(), Some("t"));
    }
}
