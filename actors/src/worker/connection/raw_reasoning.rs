//! The model's raw reasoning items on one worker: a turn whose request asked for
//! `reasoning.encrypted_content` starts its thread with raw events, and each raw `reasoning`
//! item (`rawResponseItem/completed`) goes to its stream as `TurnUpdate::ReasoningItem`.
//! Turns that did not ask never hold the encrypted content.

use super::*;
use crate::reasoning_item::ReasoningItem;

impl WorkerConnection {
    /// Hands a raw reasoning item to the turn that owns the thread, if it asked for them.
    pub(super) fn on_raw_reasoning(
        &mut self,
        key: u64,
        method: &str,
        item: Option<&protocol::NoteItem<'_>>,
    ) {
        if method != "rawResponseItem/completed" {
            return;
        }
        let wanted = self
            .turns
            .get(&key)
            .is_some_and(|t| t.request.features.include_encrypted);
        if !wanted {
            return;
        }
        if let Some(r) = item.and_then(ReasoningItem::from_note) {
            self.notify(key, TurnUpdate::ReasoningItem(r));
        }
    }

    /// `thread/start` params for a turn that asked for encrypted reasoning: raw events on.
    pub(super) fn add_raw_reasoning_params(
        request: &TurnRequest,
        params: &mut protocol::ThreadStartParams<'_>,
    ) {
        if request.features.include_encrypted {
            params.experimental_raw_events = true;
        }
    }
}
