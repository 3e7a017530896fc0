//! One API request through awc, timed: unary bodies, and SSE streams scanned frame by frame
//! for the first content and the gaps between content frames (chat `delta.content`, or
//! Responses `response.output_text.delta`).

use crate::daemon::API_KEY;
use crate::load_loops::Outcome;
use awc::Client;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// Which request to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    ChatUnary,
    ChatStream,
    ResponsesStream,
}

impl Shape {
    pub fn path(self) -> &'static str {
        match self {
            Shape::ChatUnary | Shape::ChatStream => "/v1/chat/completions",
            Shape::ResponsesStream => "/v1/responses",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Shape::ChatUnary => {
                r#"{"model":"codex-demo","messages":[{"role":"user","content":"Say hello."}]}"#
            }
            Shape::ChatStream => {
                r#"{"model":"codex-demo","messages":[{"role":"user","content":"Say hello."}],"stream":true}"#
            }
            Shape::ResponsesStream => {
                r#"{"model":"codex-demo","input":"Say hello.","stream":true}"#
            }
        }
    }

    pub fn is_stream(self) -> bool {
        self != Shape::ChatUnary
    }

    pub fn label(self) -> &'static str {
        match self {
            Shape::ChatUnary => "unary",
            Shape::ChatStream => "stream",
            Shape::ResponsesStream => "responses_stream",
        }
    }
}

/// A load client: no request timeout (streams may be held for minutes), no pool limit.
pub fn load_client(connect_timeout: Duration) -> Client {
    let connector = awc::Connector::new()
        .limit(0)
        .timeout(connect_timeout)
        .conn_keep_alive(Duration::from_secs(60))
        .conn_lifetime(Duration::from_secs(3600));
    Client::builder()
        .connector(connector)
        .disable_timeout()
        .disable_redirects()
        .add_default_header(("authorization", API_KEY))
        .add_default_header(("user-agent", "codexd-bench/0.1"))
        .finish()
}

/// Sends one request and reads the whole answer.
pub async fn request(client: &Client, url: &str, shape: Shape) -> Outcome {
    let sent = client
        .post(url)
        .insert_header(("content-type", "application/json"))
        .send_body(shape.body())
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::failed(format!("send: {e}")),
    };
    let status = resp.status().as_u16();
    if !shape.is_stream() {
        let body = resp.body().limit(1 << 20).await;
        let end = Instant::now();
        return match body {
            Ok(b) if status == 200 && contains(&b, b"You said") => Outcome {
                ok: true,
                content: vec![end],
                end,
                error: None,
            },
            Ok(b) => Outcome::failed(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&b[..b.len().min(200)])
            )),
            Err(e) => Outcome::failed(format!("body: {e}")),
        };
    }
    if status != 200 {
        let body = resp.body().limit(1 << 20).await.unwrap_or_default();
        return Outcome::failed(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    let mut scan = SseScan::new(shape);
    while let Some(chunk) = resp.next().await {
        match chunk {
            Ok(bytes) => scan.feed(&bytes, Instant::now()),
            Err(e) => return Outcome::failed(format!("stream: {e}")),
        }
    }
    scan.finish(Instant::now())
}

/// Splits an SSE body into frames as it arrives and notes the content frames.
pub struct SseScan {
    shape: Shape,
    carry: Vec<u8>,
    content: Vec<Instant>,
    done: bool,
    error: Option<String>,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl SseScan {
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            carry: Vec::with_capacity(2048),
            content: Vec::with_capacity(8),
            done: false,
            error: None,
        }
    }

    pub fn feed(&mut self, bytes: &[u8], at: Instant) {
        let mut carry = std::mem::take(&mut self.carry);
        carry.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(len) = find(&carry[start..], b"\n\n") {
            self.frame(&carry[start..start + len], at);
            start += len + 2;
        }
        carry.drain(..start);
        self.carry = carry;
    }

    fn frame(&mut self, frame: &[u8], at: Instant) {
        match self.shape {
            Shape::ResponsesStream => {
                if frame.starts_with(b"event: response.output_text.delta\n") {
                    self.content.push(at);
                } else if frame.starts_with(b"event: response.completed\n") {
                    self.done = true;
                } else if frame.starts_with(b"event: response.failed\n") {
                    self.error = Some("response.failed".into());
                }
            }
            Shape::ChatStream | Shape::ChatUnary => {
                if frame == b"data: [DONE]" {
                    self.done = true;
                } else if frame.starts_with(b"data: {\"error\"") {
                    self.error = Some(String::from_utf8_lossy(frame).into_owned());
                } else if let Some(i) = find(frame, b"\"content\":\"") {
                    // A non-empty content string (the role chunk carries `"content":""`).
                    if frame.get(i + 11) != Some(&b'"') {
                        self.content.push(at);
                    }
                }
            }
        }
    }

    pub fn finish(self, end: Instant) -> Outcome {
        let ok = self.done && self.error.is_none() && !self.content.is_empty();
        let error = if ok {
            None
        } else {
            Some(self.error.unwrap_or_else(|| {
                format!(
                    "stream ended without completion ({} content frames)",
                    self.content.len()
                )
            }))
        };
        Outcome {
            ok,
            content: self.content,
            end,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_frames_split_across_reads_are_counted_once() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"\",\"role\":\"assistant\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"You\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\" sa\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n"
        )
        .as_bytes();
        let mut s = SseScan::new(Shape::ChatStream);
        let now = Instant::now();
        for piece in body.chunks(7) {
            s.feed(piece, now);
        }
        let o = s.finish(now);
        assert!(o.ok);
        assert_eq!(o.content.len(), 2);
    }

    #[test]
    fn responses_deltas_and_completion() {
        let body = "event: response.created\ndata: {}\n\nevent: response.output_text.delta\ndata: {\"delta\":\"x\"}\n\nevent: response.completed\ndata: {}\n\n";
        let mut s = SseScan::new(Shape::ResponsesStream);
        s.feed(body.as_bytes(), Instant::now());
        let o = s.finish(Instant::now());
        assert!(o.ok);
        assert_eq!(o.content.len(), 1);
    }

    #[test]
    fn an_error_frame_fails_the_request() {
        let mut s = SseScan::new(Shape::ChatStream);
        s.feed(
            b"data: {\"error\":{\"code\":\"x\"}}\n\ndata: [DONE]\n\n",
            Instant::now(),
        );
        assert!(!s.finish(Instant::now()).ok);
    }
}
