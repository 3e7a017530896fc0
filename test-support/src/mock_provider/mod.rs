//! A mock OpenAI Responses-API model provider for driving the real Codex CLI offline.
//!
//! `MockProvider::start` binds `127.0.0.1:0` and serves HTTP/1.1 (keep-alive, chunked) with
//! actix-web on its own thread and runtime, so it keeps answering whatever the test's own
//! runtime is doing. Every request is recorded (method, path, headers, parsed JSON
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

mod features;
mod recorded;
mod reply;
mod routes;
mod sse;
mod state;
mod tool_reply;
#[cfg(test)]
mod wire_tests;

pub use recorded::{RecordedRequest, StreamState};
pub use reply::{MockCall, Reply, Usage};

use state::{first_request_to, response_requests_if, stream_done, Inner, Shared};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The mock model provider. Dropping it stops the server and closes every connection.
pub struct MockProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl MockProvider {
    /// Binds `127.0.0.1:0` and starts serving; `default` answers every `POST .../responses`
    /// for which no reply was queued with [`MockProvider::push`].
    pub fn start(default: Reply) -> io::Result<MockProvider> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(default));
        let (started, handle) = std::sync::mpsc::channel();
        let server_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("mock-provider-{}", addr.port()))
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    match routes::server(listener, server_shared) {
                        Ok(server) => {
                            let _ = started.send(Ok(server.handle()));
                            let _ = server.await;
                        }
                        Err(e) => {
                            let _ = started.send(Err(e));
                        }
                    }
                });
                // Dropping the system's runtime ends every connection task and closes its
                // socket.
            })?;
        let server = handle
            .recv()
            .map_err(|_| io::Error::other("mock provider thread ended during start-up"))??;
        Ok(MockProvider {
            addr,
            shared,
            server,
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

impl Drop for MockProvider {
    fn drop(&mut self) {
        // The stop command is sent at once; the thread ends when the server has stopped.
        drop(self.server.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
