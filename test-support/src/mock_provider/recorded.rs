//! What the mock saw: each request as it arrived ([`RecordedRequest`]) and what became of
//! each `POST .../responses` answer ([`StreamState`]).

use serde_json::Value;

/// What became of the answer to one `POST .../responses` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Still being written (or held open by [`Reply::Hang`]).
    Open,
    /// The whole answer was written.
    Finished,
    /// The client closed the connection before the answer was complete.
    ClosedByClient,
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Arrival order over all requests, from 0.
    pub index: usize,
    /// Arrival order over `POST .../responses` requests only, from 0.
    pub response_index: Option<usize>,
    /// Which TCP connection carried it (accept order, from 0): equal values mean keep-alive.
    pub connection: usize,
    pub method: String,
    /// The path without the query string.
    pub path: String,
    pub query: Option<String>,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, when it was JSON.
    pub body: Option<Value>,
    /// The raw body when it was not JSON (e.g. OTLP protobuf), else empty.
    pub raw_body: Vec<u8>,
    /// Length of the body in bytes as received (after de-chunking).
    pub body_len: usize,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The W3C `traceparent` header, if any.
    pub fn traceparent(&self) -> Option<&str> {
        self.header("traceparent")
    }

    /// The trace id (32 hex digits) of the `traceparent` header, if any.
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent().and_then(|tp| tp.split('-').nth(1))
    }

    /// Whether the raw (non-JSON) body contains `needle`, e.g. a service name in OTLP protobuf.
    pub fn raw_body_contains(&self, needle: &[u8]) -> bool {
        !needle.is_empty() && self.raw_body.windows(needle.len()).any(|w| w == needle)
    }

    /// `model` of a Responses-API request body.
    pub fn model(&self) -> Option<&str> {
        self.body.as_ref()?.get("model")?.as_str()
    }

    /// `reasoning.effort` of a Responses-API request body.
    pub fn reasoning_effort(&self) -> Option<&str> {
        self.body
            .as_ref()?
            .get("reasoning")?
            .get("effort")?
            .as_str()
    }

    /// Whether any `input[].content[].text` of a Responses-API body contains `needle`.
    pub fn input_text_contains(&self, needle: &str) -> bool {
        let Some(items) = self
            .body
            .as_ref()
            .and_then(|b| b.get("input"))
            .and_then(Value::as_array)
        else {
            return false;
        };
        items
            .iter()
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .any(|text| text.contains(needle))
    }
}
