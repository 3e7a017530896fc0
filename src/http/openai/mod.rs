//! OpenAI wire types: request validation for chat completions and responses, and the
//! rendering of answers as JSON bodies and SSE frames.

pub mod chat;
pub mod echo;
pub mod effort;
pub mod features;
pub mod history;
pub mod ignored_fields;
pub mod images;
pub mod reasoning_items;
pub mod reasoning_sse;
pub mod request;
pub mod responses;
pub mod schema_strict;
pub mod tools;

/// The SSE comment line that keeps an idle stream alive through proxies (both APIs).
pub const KEEPALIVE: &[u8] = b": keepalive\n\n";

/// Which OpenAI API a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    Chat,
    Responses,
}
