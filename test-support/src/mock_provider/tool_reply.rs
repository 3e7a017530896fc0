//! Scripted answers with function calls: the model calls client tools, optionally after
//! some text (`Reply::Calls`), as the Responses API streams them.

use super::reply::{MockCall, Reply, Usage};

impl MockCall {
    pub fn new(call_id: &str, name: &str, arguments: &str) -> Self {
        Self {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        }
    }
}

impl Reply {
    /// One model response that calls `calls` (in order), after `text` when given.
    pub fn calls(text: Option<&str>, calls: &[MockCall]) -> Self {
        Reply::Calls {
            text: text.map(str::to_owned),
            calls: calls.to_vec(),
            usage: Usage::new(20, 10),
        }
    }
}
