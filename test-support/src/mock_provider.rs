//! A mock OpenAI Responses-API model provider for driving the real Codex CLI offline.
//!
//! `MockProvider::start` binds `127.0.0.1:0` and serves a minimal HTTP/1.1 (keep-alive,
//! chunked) server on its own thread and tokio runtime, so it keeps answering whatever the
//! test's own runtime is doing. Every request is recorded (method, path, headers, parsed JSON
//! body). `POST .../responses` is answered from a queue of scripted [`Reply`]s, falling back to
//! a default reply: a streamed SSE answer, an HTTP error status, an in-stream `response.failed`,
//! or a stream that sends some deltas and then stays open until the client closes it.
//! OTLP/HTTP exports (`POST /v1/traces`, `/v1/metrics`, `/v1/logs`) are accepted too, so the
//! mock doubles as a trace collector; `GET .../models` answers an empty list; anything else
//! gets a JSON 404. Waiting helpers come in a blocking form (`wait_*`, for plain `#[test]`s)
//! and an async form (`wait_*_async`, needs a tokio runtime with time enabled).
//!
//! Observed with Codex 0.171.0: a plain turn makes exactly one `POST /v1/responses` and no
//! other request; on `turn/interrupt` Codex closes the TCP connection of the open stream.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// Longest request head (request line and headers) the mock accepts.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body the mock accepts.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Interval of the SSE comment written while a [`Reply::Hang`] stream is held open.
const HANG_KEEPALIVE: Duration = Duration::from_millis(250);

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

    fn to_json(self) -> Value {
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

struct Inner {
    queue: VecDeque<Reply>,
    default: Reply,
    requests: Vec<RecordedRequest>,
    /// Indexed by `response_index`.
    streams: Vec<StreamState>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Notified on every state change; blocking waiters re-check their condition.
    changed: Condvar,
    /// Bumped on every state change; async waiters re-check their condition.
    version: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.notify_all();
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn set_stream_state(&self, response_index: usize, state: StreamState) {
        {
            let mut inner = self.lock();
            if let Some(slot) = inner.streams.get_mut(response_index) {
                *slot = state;
            }
        }
        self.bump();
    }
}

/// The mock model provider. Dropping it stops the server and closes every connection.
pub struct MockProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockProvider {
    /// Binds `127.0.0.1:0` and starts serving; `default` answers every `POST .../responses`
    /// for which no reply was queued with [`MockProvider::push`].
    pub fn start(default: Reply) -> io::Result<MockProvider> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let (version, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                default,
                requests: Vec::new(),
                streams: Vec::new(),
            }),
            changed: Condvar::new(),
            version,
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let server_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("mock-provider-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(accept_loop(listener, server_shared, shutdown_rx));
                // Dropping the runtime cancels every connection task and closes its socket.
                drop(runtime);
            })?;
        Ok(MockProvider {
            addr,
            shared,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`: the `base_url` of the Codex model provider.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1/traces`: an OTLP/HTTP traces endpoint served by the mock.
    pub fn otlp_traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Queues `reply` for the next `POST .../responses` (first queued, first used).
    pub fn push(&self, reply: Reply) {
        self.shared.lock().queue.push_back(reply);
    }

    /// Replaces the reply used when the queue is empty.
    pub fn set_default(&self, reply: Reply) {
        self.shared.lock().default = reply;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The `POST .../responses` requests received so far, in arrival order.
    pub fn response_requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.response_index.is_some())
            .cloned()
            .collect()
    }

    /// The requests received so far for exactly this path (e.g. `/v1/traces`).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The state of the answer to the `response_index`-th `POST .../responses`.
    pub fn stream_state(&self, response_index: usize) -> Option<StreamState> {
        self.shared.lock().streams.get(response_index).copied()
    }

    /// How many `POST .../responses` answers are still being written or held open.
    pub fn open_streams(&self) -> usize {
        self.shared
            .lock()
            .streams
            .iter()
            .filter(|s| **s == StreamState::Open)
            .count()
    }

    /// Blocks until at least `n` `POST .../responses` requests arrived; `None` on timeout.
    pub fn wait_for_response_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Option<Vec<RecordedRequest>> {
        self.wait_blocking(timeout, |inner| response_requests_if(inner, n))
    }

    /// Async form of [`MockProvider::wait_for_response_requests`].
    pub async fn wait_for_response_requests_async(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Option<Vec<RecordedRequest>> {
        self.wait_async(timeout, |inner| response_requests_if(inner, n))
            .await
    }

    /// Blocks until the first request to exactly this path arrived; `None` on timeout.
    pub fn wait_for_request_to(&self, path: &str, timeout: Duration) -> Option<RecordedRequest> {
        self.wait_blocking(timeout, |inner| first_request_to(inner, path))
    }

    /// Async form of [`MockProvider::wait_for_request_to`].
    pub async fn wait_for_request_to_async(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Option<RecordedRequest> {
        self.wait_async(timeout, |inner| first_request_to(inner, path))
            .await
    }

    /// Blocks until the answer to the `response_index`-th `POST .../responses` is no longer
    /// open; returns its final state, `None` on timeout.
    pub fn wait_stream_done(
        &self,
        response_index: usize,
        timeout: Duration,
    ) -> Option<StreamState> {
        self.wait_blocking(timeout, |inner| stream_done(inner, response_index))
    }

    /// Async form of [`MockProvider::wait_stream_done`].
    pub async fn wait_stream_done_async(
        &self,
        response_index: usize,
        timeout: Duration,
    ) -> Option<StreamState> {
        self.wait_async(timeout, |inner| stream_done(inner, response_index))
            .await
    }

    /// Whether the client closed the `response_index`-th response stream before it was
    /// complete, blocking up to `timeout` for the stream to end.
    pub fn wait_stream_closed_by_client(&self, response_index: usize, timeout: Duration) -> bool {
        self.wait_stream_done(response_index, timeout) == Some(StreamState::ClosedByClient)
    }

    /// Async form of [`MockProvider::wait_stream_closed_by_client`].
    pub async fn wait_stream_closed_by_client_async(
        &self,
        response_index: usize,
        timeout: Duration,
    ) -> bool {
        self.wait_stream_done_async(response_index, timeout).await
            == Some(StreamState::ClosedByClient)
    }

    fn wait_blocking<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Inner) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.shared.lock();
        loop {
            if let Some(found) = check(&inner) {
                return Some(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            inner = self
                .shared
                .changed
                .wait_timeout(inner, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    async fn wait_async<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Inner) -> Option<T>,
    ) -> Option<T> {
        let mut changes = self.shared.version.subscribe();
        let wait = async {
            loop {
                let found = {
                    let inner = self.shared.lock();
                    check(&inner)
                };
                if found.is_some() {
                    return found;
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }
}

fn response_requests_if(inner: &Inner, n: usize) -> Option<Vec<RecordedRequest>> {
    let found: Vec<RecordedRequest> = inner
        .requests
        .iter()
        .filter(|r| r.response_index.is_some())
        .cloned()
        .collect();
    (found.len() >= n).then_some(found)
}

fn first_request_to(inner: &Inner, path: &str) -> Option<RecordedRequest> {
    inner.requests.iter().find(|r| r.path == path).cloned()
}

fn stream_done(inner: &Inner, response_index: usize) -> Option<StreamState> {
    inner
        .streams
        .get(response_index)
        .copied()
        .filter(|s| *s != StreamState::Open)
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut next_connection = 0usize;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                if let Ok((socket, _)) = accepted {
                    let _ = socket.set_nodelay(true);
                    let conn = Conn::new(socket, next_connection);
                    next_connection += 1;
                    tokio::spawn(serve_connection(conn, Arc::clone(&shared)));
                }
            }
        }
    }
}

/// One parsed request.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.to_ascii_lowercase().contains("close"))
    }
}

/// A socket with its read buffer (bytes received but not yet consumed).
struct Conn {
    socket: TcpStream,
    id: usize,
    buf: Vec<u8>,
}

fn bad_input(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

impl Conn {
    fn new(socket: TcpStream, id: usize) -> Self {
        Self {
            socket,
            id,
            buf: Vec::with_capacity(8192),
        }
    }

    /// Reads more bytes into the buffer; `false` on EOF.
    async fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.socket.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Consumes one CRLF-terminated line (without the CRLF); `None` on EOF.
    async fn read_line(&mut self, limit: usize) -> io::Result<Option<String>> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).take(pos).collect();
                return String::from_utf8(line)
                    .map(Some)
                    .map_err(|_| bad_input("non-UTF-8 line"));
            }
            if self.buf.len() > limit {
                return Err(bad_input("line too long"));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Consumes exactly `n` bytes; `None` on EOF.
    async fn read_exact_bytes(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Ok(None);
            }
        }
        Ok(Some(self.buf.drain(..n).collect()))
    }

    /// Reads one request; `Ok(None)` when the client closed the connection cleanly.
    async fn read_request(&mut self) -> io::Result<Option<Request>> {
        let request_line = loop {
            match self.read_line(MAX_HEAD_BYTES).await? {
                None => return Ok(None),
                // Tolerate stray CRLFs between requests.
                Some(line) if line.is_empty() => continue,
                Some(line) => break line,
            }
        };
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return Err(bad_input("bad request line"));
        };
        let (method, target) = (method.to_owned(), target.to_owned());
        let mut headers = Vec::new();
        let mut head_len = request_line.len();
        loop {
            let Some(line) = self.read_line(MAX_HEAD_BYTES).await? else {
                return Err(bad_input("eof in headers"));
            };
            if line.is_empty() {
                break;
            }
            head_len += line.len();
            if head_len > MAX_HEAD_BYTES {
                return Err(bad_input("request head too large"));
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut request = Request {
            method,
            target,
            headers,
            body: Vec::new(),
        };
        let chunked = request
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            request.body = self.read_chunked_body().await?;
        } else if let Some(len) = request.header("content-length") {
            let len: usize = len.parse().map_err(|_| bad_input("bad content-length"))?;
            if len > MAX_BODY_BYTES {
                return Err(bad_input("body too large"));
            }
            request.body = self
                .read_exact_bytes(len)
                .await?
                .ok_or_else(|| bad_input("eof in body"))?;
        }
        Ok(Some(request))
    }

    async fn read_chunked_body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self
                .read_line(1024)
                .await?
                .ok_or_else(|| bad_input("eof in chunk size"))?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size =
                usize::from_str_radix(size_text, 16).map_err(|_| bad_input("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    match self.read_line(MAX_HEAD_BYTES).await? {
                        Some(trailer) if !trailer.is_empty() => continue,
                        _ => return Ok(body),
                    }
                }
            }
            if body.len() + size > MAX_BODY_BYTES {
                return Err(bad_input("body too large"));
            }
            let data = self
                .read_exact_bytes(size + 2)
                .await?
                .ok_or_else(|| bad_input("eof in chunk"))?;
            if !data.ends_with(b"\r\n") {
                return Err(bad_input("chunk not followed by CRLF"));
            }
            body.extend_from_slice(&data[..size]);
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.socket.write_all(bytes).await
    }

    /// Writes one HTTP chunk.
    async fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
        framed.extend_from_slice(data);
        framed.extend_from_slice(b"\r\n");
        self.socket.write_all(&framed).await?;
        self.socket.flush().await
    }

    /// Writes one SSE event as an HTTP chunk.
    async fn write_event(&mut self, event: Value) -> io::Result<()> {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        let frame = format!("event: {kind}\ndata: {event}\n\n");
        self.write_chunk(frame.as_bytes()).await
    }

    /// Holds the connection open, writing an SSE comment now and then, until the peer closes
    /// it (EOF, reset or a failed write).
    async fn hold_until_client_closes(&mut self) {
        enum Wake {
            Readable(io::Result<()>),
            Tick,
        }
        loop {
            let wake = tokio::select! {
                ready = self.socket.readable() => Wake::Readable(ready),
                _ = tokio::time::sleep(HANG_KEEPALIVE) => Wake::Tick,
            };
            match wake {
                Wake::Readable(Err(_)) => return,
                Wake::Readable(Ok(())) => {
                    let mut scratch = [0u8; 4096];
                    match self.socket.try_read(&mut scratch) {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                }
                Wake::Tick => {
                    if self.write_chunk(b": keepalive\n\n").await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

async fn serve_connection(mut conn: Conn, shared: Arc<Shared>) {
    loop {
        let request = match conn.read_request().await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(_) => {
                let _ = write_json(
                    &mut conn,
                    400,
                    &[],
                    &json!({"error": {"message": "bad request"}}),
                )
                .await;
                return;
            }
        };
        let close_after = request.wants_close();
        let keep_going = respond(&mut conn, &shared, request).await;
        if !keep_going || close_after {
            return;
        }
    }
}

/// Records the request and answers it; `false` when the connection must not be reused.
async fn respond(conn: &mut Conn, shared: &Shared, request: Request) -> bool {
    let (path, query) = match request.target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (request.target.clone(), None),
    };
    let is_responses = request.method == "POST" && path.ends_with("/responses");
    let body_json: Option<Value> = if request.body.is_empty() {
        None
    } else {
        serde_json::from_slice(&request.body).ok()
    };
    let (response_index, reply) = {
        let mut inner = shared.lock();
        let (response_index, reply) = if is_responses {
            let index = inner.streams.len();
            inner.streams.push(StreamState::Open);
            let reply = match inner.queue.pop_front() {
                Some(reply) => reply,
                None => inner.default.clone(),
            };
            (Some(index), Some(reply))
        } else {
            (None, None)
        };
        let index = inner.requests.len();
        inner.requests.push(RecordedRequest {
            index,
            response_index,
            connection: conn.id,
            method: request.method.clone(),
            path: path.clone(),
            query,
            headers: request.headers.clone(),
            raw_body: if body_json.is_none() {
                request.body.clone()
            } else {
                Vec::new()
            },
            body: body_json,
            body_len: request.body.len(),
        });
        (response_index, reply)
    };
    shared.bump();

    match (response_index, reply) {
        (Some(k), Some(reply)) => {
            let request_model = request_model(&request.body);
            let result = answer_responses(conn, k, &request_model, reply).await;
            let (state, reusable) = match result {
                Ok(Outcome::Complete) => (StreamState::Finished, true),
                Ok(Outcome::ConnectionDone) => (StreamState::Finished, false),
                Ok(Outcome::ClientClosed) | Err(_) => (StreamState::ClosedByClient, false),
            };
            shared.set_stream_state(k, state);
            reusable
        }
        _ => answer_other(conn, &request.method, &path).await.is_ok(),
    }
}

fn request_model(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "mock-model".to_owned())
}

enum Outcome {
    /// The answer was written completely; the connection can be reused.
    Complete,
    /// The answer is over and the connection must be closed.
    ConnectionDone,
    /// The client went away first.
    ClientClosed,
}

async fn answer_responses(
    conn: &mut Conn,
    k: usize,
    model: &str,
    reply: Reply,
) -> io::Result<Outcome> {
    let response_id = format!("resp_mock_{k}");
    let item_id = format!("msg_mock_{k}");
    match reply {
        Reply::Status {
            code,
            retry_after_secs,
            body,
        } => {
            let extra: Vec<(&str, String)> = retry_after_secs
                .map(|s| ("retry-after", s.to_string()))
                .into_iter()
                .collect();
            write_json(conn, code, &extra, &body).await?;
            Ok(Outcome::Complete)
        }
        Reply::Disconnect => Ok(Outcome::ConnectionDone),
        Reply::Failed { code, message } => {
            write_sse_head(conn, k).await?;
            conn.write_event(created_event(&response_id, model)).await?;
            conn.write_event(json!({
                "type": "response.failed",
                "response": {
                    "id": response_id,
                    "object": "response",
                    "status": "failed",
                    "model": model,
                    "error": {"code": code, "message": message},
                },
            }))
            .await?;
            conn.write_all(b"0\r\n\r\n").await?;
            Ok(Outcome::Complete)
        }
        Reply::Stream {
            chunks,
            usage,
            first_delay,
            chunk_delay,
        } => {
            write_sse_head(conn, k).await?;
            write_deltas(
                conn,
                &response_id,
                &item_id,
                model,
                &chunks,
                first_delay,
                chunk_delay,
            )
            .await?;
            let text: String = chunks.concat();
            conn.write_event(json!({
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {
                    "type": "message",
                    "id": item_id,
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                },
            }))
            .await?;
            conn.write_event(json!({
                "type": "response.completed",
                "response": {
                    "id": response_id,
                    "object": "response",
                    "status": "completed",
                    "model": model,
                    "usage": usage.to_json(),
                },
            }))
            .await?;
            conn.write_all(b"0\r\n\r\n").await?;
            Ok(Outcome::Complete)
        }
        Reply::Hang {
            chunks,
            first_delay,
            chunk_delay,
        } => {
            write_sse_head(conn, k).await?;
            write_deltas(
                conn,
                &response_id,
                &item_id,
                model,
                &chunks,
                first_delay,
                chunk_delay,
            )
            .await?;
            conn.hold_until_client_closes().await;
            Ok(Outcome::ClientClosed)
        }
    }
}

fn created_event(response_id: &str, model: &str) -> Value {
    json!({
        "type": "response.created",
        "response": {"id": response_id, "object": "response", "status": "in_progress", "model": model},
    })
}

async fn write_sse_head(conn: &mut Conn, k: usize) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         transfer-encoding: chunked\r\nx-request-id: mock-req-{k}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await
}

async fn write_deltas(
    conn: &mut Conn,
    response_id: &str,
    item_id: &str,
    model: &str,
    chunks: &[String],
    first_delay: Duration,
    chunk_delay: Duration,
) -> io::Result<()> {
    conn.write_event(created_event(response_id, model)).await?;
    conn.write_event(json!({
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {
            "type": "message",
            "id": item_id,
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        },
    }))
    .await?;
    if !first_delay.is_zero() {
        tokio::time::sleep(first_delay).await;
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 && !chunk_delay.is_zero() {
            tokio::time::sleep(chunk_delay).await;
        }
        conn.write_event(json!({
            "type": "response.output_text.delta",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": chunk,
        }))
        .await?;
    }
    Ok(())
}

/// Answers anything that is not `POST .../responses`.
async fn answer_other(conn: &mut Conn, method: &str, path: &str) -> io::Result<()> {
    let is_otlp = method == "POST" && matches!(path, "/v1/traces" | "/v1/metrics" | "/v1/logs");
    if is_otlp {
        // An empty protobuf message is a valid (fully successful) Export*ServiceResponse.
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        return conn.write_all(head.as_bytes()).await;
    }
    if method == "GET" && path.ends_with("/models") {
        return write_json(
            conn,
            200,
            &[],
            &json!({"object": "list", "data": [], "models": []}),
        )
        .await;
    }
    write_json(
        conn,
        404,
        &[],
        &json!({"error": {"message": "not served by the mock provider", "type": "not_found"}}),
    )
    .await
}

async fn write_json(
    conn: &mut Conn,
    code: u16,
    extra_headers: &[(&str, String)],
    body: &Value,
) -> io::Result<()> {
    let body = body.to_string();
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        reason_phrase(code),
        body.len()
    );
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body.as_bytes()).await?;
    conn.socket.flush().await
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
