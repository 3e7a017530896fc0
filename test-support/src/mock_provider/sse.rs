//! The SSE answers to `POST .../responses`: the Responses-API events of each reply kind,
//! framed as `event:`/`data:` pairs and paced by the reply's delays, in a body stream that
//! records whether it was written to the end or dropped because the client went away.

mod reasoning;
mod tool_calls;

use super::recorded::StreamState;
use super::reply::Reply;
use super::state::Shared;
use actix_web::web::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Interval of the SSE comment written while a [`Reply::Hang`] stream is held open.
const HANG_KEEPALIVE: Duration = Duration::from_millis(250);
const KEEPALIVE_FRAME: &[u8] = b": keepalive\n\n";

/// One frame, written after `delay`.
struct Step {
    delay: Duration,
    frame: Bytes,
}

/// The frames of one SSE answer and whether it is then held open.
pub(super) struct Script {
    steps: VecDeque<Step>,
    hold: bool,
    /// A pause still owed to the next frame (a first-delta delay with no delta).
    carry: Duration,
}

/// One SSE event: `event: <type>` and the compact JSON as `data:`.
fn frame(event: &Value) -> Bytes {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    Bytes::from(format!("event: {kind}\ndata: {event}\n\n"))
}

fn created_event(response_id: &str, model: &str) -> Value {
    json!({
        "type": "response.created",
        "response": {"id": response_id, "object": "response", "status": "in_progress", "model": model},
    })
}

impl Script {
    fn push(&mut self, delay: Duration, event: &Value) {
        let delay = delay + std::mem::take(&mut self.carry);
        self.steps.push_back(Step {
            delay,
            frame: frame(event),
        });
    }

    /// `response.created`, `response.output_item.added`, then one delta per chunk.
    fn deltas(&mut self, ids: (&str, &str), model: &str, chunks: &[String], delays: [Duration; 2]) {
        let (response_id, item_id) = ids;
        let [first_delay, chunk_delay] = delays;
        self.push(Duration::ZERO, &created_event(response_id, model));
        self.push(
            Duration::ZERO,
            &json!({
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "type": "message",
                    "id": item_id,
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            }),
        );
        for (i, chunk) in chunks.iter().enumerate() {
            let delay = if i == 0 { first_delay } else { chunk_delay };
            self.push(
                delay,
                &json!({
                    "type": "response.output_text.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": chunk,
                }),
            );
        }
        if chunks.is_empty() {
            self.carry = first_delay;
        }
    }

    /// The events of a streamed reply (`Stream`, `Hang`, `Failed`) for the `k`-th answer;
    /// `None` for the replies that are not SSE.
    pub(super) fn for_reply(k: usize, model: &str, reply: &Reply) -> Option<Script> {
        let response_id = format!("resp_mock_{k}");
        let item_id = format!("msg_mock_{k}");
        let ids = (response_id.as_str(), item_id.as_str());
        let mut s = Script {
            steps: VecDeque::new(),
            hold: false,
            carry: Duration::ZERO,
        };
        match reply {
            Reply::Status { .. } | Reply::Disconnect => return None,
            Reply::Failed { code, message } => {
                s.push(Duration::ZERO, &created_event(&response_id, model));
                s.push(
                    Duration::ZERO,
                    &json!({
                        "type": "response.failed",
                        "response": {
                            "id": response_id,
                            "object": "response",
                            "status": "failed",
                            "model": model,
                            "error": {"code": code, "message": message},
                        },
                    }),
                );
            }
            Reply::Stream {
                chunks,
                usage,
                first_delay,
                chunk_delay,
            } => {
                s.deltas(ids, model, chunks, [*first_delay, *chunk_delay]);
                s.push(
                    Duration::ZERO,
                    &json!({
                        "type": "response.output_item.done",
                        "output_index": 0,
                        "item": {
                            "type": "message",
                            "id": item_id,
                            "status": "completed",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": chunks.concat(), "annotations": []}],
                        },
                    }),
                );
                s.push(
                    Duration::ZERO,
                    &json!({
                        "type": "response.completed",
                        "response": {
                            "id": response_id,
                            "object": "response",
                            "status": "completed",
                            "model": model,
                            "usage": usage.to_json(),
                        },
                    }),
                );
            }
            Reply::Hang {
                chunks,
                first_delay,
                chunk_delay,
            } => {
                s.deltas(ids, model, chunks, [*first_delay, *chunk_delay]);
                s.hold = true;
            }
            Reply::Calls { text, calls, usage } => {
                s.calls(ids, model, text.as_deref(), calls, *usage)
            }
            Reply::Reasoned {
                encrypted,
                text,
                usage,
            } => s.reasoned(ids, model, encrypted, text, *usage),
        }
        Some(s)
    }
}

/// Marks the `k`-th answer `Finished` when its body ends, `ClosedByClient` when the body is
/// dropped first (the connection went away).
pub(super) struct Ending {
    shared: Arc<Shared>,
    k: usize,
    done: bool,
}

impl Ending {
    pub(super) fn new(shared: Arc<Shared>, k: usize) -> Ending {
        Ending {
            shared,
            k,
            done: false,
        }
    }

    pub(super) fn finish(mut self) {
        self.done = true;
        self.shared.set_stream_state(self.k, StreamState::Finished);
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        if !self.done {
            self.shared
                .set_stream_state(self.k, StreamState::ClosedByClient);
        }
    }
}

/// The body of an SSE answer: each frame after its delay (one HTTP chunk each), then the
/// end, or for a held stream a keepalive comment every 250 ms until the client goes away.
pub(super) fn body(
    script: Script,
    ending: Ending,
) -> impl Stream<Item = Result<Bytes, io::Error>> + 'static {
    futures_util::stream::unfold(
        (script, Some(ending)),
        |(mut script, mut ending)| async move {
            let step = match script.steps.pop_front() {
                Some(step) => step,
                None if script.hold => Step {
                    delay: HANG_KEEPALIVE + std::mem::take(&mut script.carry),
                    frame: Bytes::from_static(KEEPALIVE_FRAME),
                },
                None => {
                    if let Some(ending) = ending.take() {
                        ending.finish();
                    }
                    return None;
                }
            };
            if !step.delay.is_zero() {
                actix_rt::time::sleep(step.delay).await;
            }
            Some((Ok(step.frame), (script, ending)))
        },
    )
}
