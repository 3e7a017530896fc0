//! The mock's shared state: the reply queue, the recorded requests and the state of every
//! answer, with the change notifications that blocking and async waiters sleep on.

use super::recorded::{RecordedRequest, StreamState};
use super::reply::Reply;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use tokio::sync::watch;

pub(super) struct Inner {
    pub(super) queue: VecDeque<Reply>,
    pub(super) default: Reply,
    pub(super) requests: Vec<RecordedRequest>,
    /// Indexed by `response_index`.
    pub(super) streams: Vec<StreamState>,
}

pub(super) struct Shared {
    inner: Mutex<Inner>,
    /// Notified on every state change; blocking waiters re-check their condition.
    pub(super) changed: Condvar,
    /// Bumped on every state change; async waiters re-check their condition.
    pub(super) version: watch::Sender<u64>,
}

/// A request as the routes hand it over for recording.
pub(super) struct Incoming {
    pub(super) connection: usize,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Option<String>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Incoming {
    /// `POST .../responses`: answered from the reply queue.
    pub(super) fn is_responses(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/responses")
    }
}

impl Shared {
    pub(super) fn new(default: Reply) -> Shared {
        let (version, _) = watch::channel(0u64);
        Shared {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                default,
                requests: Vec::new(),
                streams: Vec::new(),
            }),
            changed: Condvar::new(),
            version,
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn bump(&self) {
        self.changed.notify_all();
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(super) fn set_stream_state(&self, response_index: usize, state: StreamState) {
        {
            let mut inner = self.lock();
            if let Some(slot) = inner.streams.get_mut(response_index) {
                *slot = state;
            }
        }
        self.bump();
    }

    /// Records the request; for `POST .../responses` also opens its answer and takes the
    /// reply for it (queued first, else the default), returned with its `response_index`.
    pub(super) fn record(&self, request: Incoming) -> Option<(usize, Reply)> {
        let is_responses = request.is_responses();
        let body_json: Option<serde_json::Value> = if request.body.is_empty() {
            None
        } else {
            serde_json::from_slice(&request.body).ok()
        };
        let answer = {
            let mut inner = self.lock();
            let answer = is_responses.then(|| {
                let index = inner.streams.len();
                inner.streams.push(StreamState::Open);
                let reply = match inner.queue.pop_front() {
                    Some(reply) => reply,
                    None => inner.default.clone(),
                };
                (index, reply)
            });
            let index = inner.requests.len();
            let body_len = request.body.len();
            inner.requests.push(RecordedRequest {
                index,
                response_index: answer.as_ref().map(|(k, _)| *k),
                connection: request.connection,
                method: request.method,
                path: request.path,
                query: request.query,
                headers: request.headers,
                raw_body: if body_json.is_none() {
                    request.body
                } else {
                    Vec::new()
                },
                body: body_json,
                body_len,
            });
            answer
        };
        self.bump();
        answer
    }
}

pub(super) fn response_requests_if(inner: &Inner, n: usize) -> Option<Vec<RecordedRequest>> {
    let found: Vec<RecordedRequest> = inner
        .requests
        .iter()
        .filter(|r| r.response_index.is_some())
        .cloned()
        .collect();
    (found.len() >= n).then_some(found)
}

pub(super) fn first_request_to(inner: &Inner, path: &str) -> Option<RecordedRequest> {
    inner.requests.iter().find(|r| r.path == path).cloned()
}

pub(super) fn stream_done(inner: &Inner, response_index: usize) -> Option<StreamState> {
    inner
        .streams
        .get(response_index)
        .copied()
        .filter(|s| *s != StreamState::Open)
}
