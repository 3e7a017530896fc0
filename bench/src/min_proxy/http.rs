//! The minimal proxy's one route, `POST /v1/chat/completions`: a borrowed parse of the
//! request, one job to the pool, and the answer as a `chat.completion` body or as SSE
//! `chat.completion.chunk` frames, in the shapes codexd writes.

use crate::pool::{Event, Job};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use web::Bytes;

/// What the handlers share: the pool's job queue and the accepted `Authorization` value.
pub struct State {
    pub jobs: mpsc::UnboundedSender<Job>,
    pub auth: Option<String>,
}

#[derive(Deserialize)]
struct ChatRequest<'a> {
    #[serde(borrow)]
    model: Option<&'a str>,
    #[serde(borrow)]
    messages: Vec<Message<'a>>,
    #[serde(default)]
    stream: bool,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    role: &'a str,
    #[serde(borrow)]
    content: &'a RawValue,
}

fn error(status: u16, code: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = format!("{{\"error\":{{\"message\":\"{code}\",\"type\":\"invalid_request_error\",\"code\":\"{code}\"}}}}");
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A completion id (`chatcmpl-` and 24 hex digits: a counter run through splitmix64) and
/// the creation time in seconds.
fn id_and_created() -> (String, u64) {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (
        format!("chatcmpl-{:08x}{:016x}", n as u32, z ^ (z >> 31)),
        created,
    )
}

pub async fn chat(req: HttpRequest, body: Bytes, st: web::Data<State>) -> HttpResponse {
    if let Some(want) = &st.auth {
        let got = req.headers().get("authorization").map(|v| v.as_bytes());
        if got != Some(want.as_bytes()) {
            return error(401, "invalid_api_key");
        }
    }
    let Ok(r) = serde_json::from_slice::<ChatRequest<'_>>(&body) else {
        return error(400, "invalid_request");
    };
    // The last user message is the turn's input; only plain string content is taken.
    let input = r
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.get());
    let Some(input) = input.filter(|c| c.starts_with('"')) else {
        return error(400, "invalid_request");
    };
    let (reply, mut rx) = mpsc::unbounded_channel();
    let job = Job {
        input: input.to_owned(),
        stream: r.stream,
        reply,
    };
    if st.jobs.send(job).is_err() {
        return error(503, "no_worker");
    }
    let (id, created) = id_and_created();
    let model = r.model.unwrap_or("codex-demo");
    if r.stream {
        let prefix = format!("data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":\"{model}\",\"system_fingerprint\":null,\"choices\":[{{\"index\":0,\"delta\":");
        let mut head = Vec::with_capacity(1024);
        head.extend_from_slice(prefix.as_bytes());
        head.extend_from_slice(b"{\"content\":\"\",\"role\":\"assistant\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        let sse = Sse {
            prefix,
            head,
            rx,
            done: false,
        };
        return HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header(("cache-control", "no-cache"))
            .streaming(sse);
    }
    let Some(Event::Done {
        text,
        usage: u,
        ok: true,
    }) = rx.recv().await
    else {
        return error(502, "upstream_error");
    };
    let body = format!(
        "{{\"choices\":[{{\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null,\"message\":{{\"content\":\"{text}\",\"refusal\":null,\"role\":\"assistant\"}}}}],\"created\":{created},\"id\":\"{id}\",\"model\":\"{model}\",\"object\":\"chat.completion\",\"system_fingerprint\":null,\"usage\":{{\"completion_tokens\":{},\"completion_tokens_details\":{{\"reasoning_tokens\":{}}},\"prompt_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":{}}},\"total_tokens\":{}}}}}",
        u.output_tokens, u.reasoning_output_tokens, u.input_tokens, u.cached_input_tokens, u.total_tokens
    );
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// The SSE body: the role chunk, then every delta queued since the last poll in one chunk,
/// then the finish chunk and `[DONE]` (or an error frame when the turn failed).
struct Sse {
    prefix: String,
    head: Vec<u8>,
    rx: mpsc::UnboundedReceiver<Event>,
    done: bool,
}

impl futures_util::Stream for Sse {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let mut out = std::mem::take(&mut this.head);
        while let Poll::Ready(ev) = this.rx.poll_recv(cx) {
            match ev {
                Some(Event::Delta(d)) => {
                    out.extend_from_slice(this.prefix.as_bytes());
                    out.extend_from_slice(b"{\"content\":\"");
                    out.extend_from_slice(d.as_bytes());
                    out.extend_from_slice(b"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
                    continue;
                }
                Some(Event::Done { ok: true, .. }) => {
                    out.extend_from_slice(this.prefix.as_bytes());
                    out.extend_from_slice(b"{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n");
                }
                Some(Event::Done { ok: false, .. }) | None => out.extend_from_slice(
                    b"data: {\"error\":{\"message\":\"turn failed\",\"type\":\"server_error\",\"code\":\"upstream_error\"}}\n\n",
                ),
            }
            out.extend_from_slice(b"data: [DONE]\n\n");
            this.done = true;
            break;
        }
        if out.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Some(Ok(Bytes::from(out))))
        }
    }
}
