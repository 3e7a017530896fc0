//! What the mock answers to one `POST .../responses`: the scripted [`Reply`] kinds and the
//! token [`Usage`] a completed answer reports.

use serde_json::{json, Value};
use std::time::Duration;

/// Token usage reported in `response.completed`.
///
/// Codex maps it to `thread/tokenUsage/updated` as `inputTokens`, `cachedInputTokens`,
/// `outputTokens`, `reasoningOutputTokens` and `totalTokens` (= input + output).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
}

impl Usage {
    /// Input and output tokens, no cached or reasoning tokens.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            ..Self::default()
        }
    }

    /// Sets the cached part of the input tokens.
    pub fn cached(mut self, cached_input_tokens: u64) -> Self {
        self.cached_input_tokens = cached_input_tokens;
        self
    }

    /// Sets the reasoning part of the output tokens.
    pub fn reasoning(mut self, reasoning_output_tokens: u64) -> Self {
        self.reasoning_output_tokens = reasoning_output_tokens;
        self
    }

    /// `input_tokens + output_tokens`, as the Responses API reports `total_tokens`.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub(super) fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": { "cached_tokens": self.cached_input_tokens },
            "output_tokens": self.output_tokens,
            "output_tokens_details": { "reasoning_tokens": self.reasoning_output_tokens },
            "total_tokens": self.total(),
        })
    }
}

/// How the mock answers one `POST .../responses` request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `200 text/event-stream`: `response.created`, `response.output_item.added`, one
    /// `response.output_text.delta` per chunk, `response.output_item.done` and
    /// `response.completed` carrying `usage`.
    Stream {
        chunks: Vec<String>,
        usage: Usage,
        /// Pause after `response.created`, before the first delta.
        first_delay: Duration,
        /// Pause between consecutive deltas.
        chunk_delay: Duration,
    },
    /// Like `Stream` up to the last delta, then holds the connection open (writing an SSE
    /// comment every 250 ms) until the client closes it. See
    /// [`MockProvider::wait_stream_closed_by_client`].
    Hang {
        chunks: Vec<String>,
        first_delay: Duration,
        chunk_delay: Duration,
    },
    /// A plain HTTP error answer with a JSON body, e.g. 429 (with `Retry-After`) or 500.
    Status {
        code: u16,
        retry_after_secs: Option<u64>,
        body: Value,
    },
    /// `200 text/event-stream` with `response.created` then `response.failed` carrying
    /// `{"error":{"code":..,"message":..}}` (e.g. `context_length_exceeded`).
    Failed { code: String, message: String },
    /// Closes the connection without answering.
    Disconnect,
    /// `200 text/event-stream`: optional text, then `function_call` items (`tool_reply.rs`).
    Calls {
        text: Option<String>,
        calls: Vec<MockCall>,
        usage: Usage,
    },
    /// `200 text/event-stream`: a `reasoning` item with `encrypted_content`, then `text`
    /// (`sse/reasoning.rs`).
    Reasoned {
        encrypted: String,
        text: String,
        usage: Usage,
    },
}

/// One function call in a scripted [`Reply::Calls`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockCall {
    pub call_id: String,
    pub name: String,
    /// The arguments as the JSON text the model streams.
    pub arguments: String,
}

impl Reply {
    /// A complete streamed answer made of `chunks`, reporting `usage`.
    pub fn text<S: AsRef<str>>(chunks: &[S], usage: Usage) -> Self {
        Reply::Stream {
            chunks: chunks.iter().map(|c| c.as_ref().to_owned()).collect(),
            usage,
            first_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
        }
    }

    /// Sends `chunks` as deltas, then never completes: the stream stays open until the client
    /// goes away.
    pub fn hang<S: AsRef<str>>(chunks: &[S]) -> Self {
        Reply::Hang {
            chunks: chunks.iter().map(|c| c.as_ref().to_owned()).collect(),
            first_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
        }
    }

    /// HTTP 429 with `Retry-After: retry_after_secs` and an OpenAI-style error body.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Reply::Status {
            code: 429,
            retry_after_secs: Some(retry_after_secs),
            body: json!({"error": {
                "message": "Rate limit reached for mock-model (mock).",
                "type": "rate_limit_error",
                "code": "rate_limit_exceeded",
            }}),
        }
    }

    /// HTTP 500 with an OpenAI-style error body.
    pub fn server_error() -> Self {
        Reply::Status {
            code: 500,
            retry_after_secs: None,
            body: json!({"error": {
                "message": "The mock provider had an internal error.",
                "type": "server_error",
                "code": null,
            }}),
        }
    }

    /// Any HTTP error status with an OpenAI-style error body.
    pub fn status(code: u16, message: &str) -> Self {
        Reply::Status {
            code,
            retry_after_secs: None,
            body: json!({"error": {"message": message, "type": "mock_error", "code": null}}),
        }
    }

    /// An in-stream `response.failed` with `error.code = code`.
    pub fn failed(code: &str, message: &str) -> Self {
        Reply::Failed {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// Sets the pause before the first delta (`Stream` and `Hang` only).
    pub fn with_first_delay(mut self, delay: Duration) -> Self {
        if let Reply::Stream { first_delay, .. } | Reply::Hang { first_delay, .. } = &mut self {
            *first_delay = delay;
        }
        self
    }

    /// Sets the pause between deltas (`Stream` and `Hang` only).
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        if let Reply::Stream { chunk_delay, .. } | Reply::Hang { chunk_delay, .. } = &mut self {
            *chunk_delay = delay;
        }
        self
    }
}

impl Default for Reply {
    /// `"Hello from the model."` in two chunks, usage 10 in (3 cached) / 8 out (2 reasoning).
    fn default() -> Self {
        Reply::text(
            &["Hello from", " the model."],
            Usage::new(10, 8).cached(3).reasoning(2),
        )
    }
}
