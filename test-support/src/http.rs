//! A deliberately small HTTP/1.1 client over raw sockets, so tests see the bytes on the wire
//! and can hang up mid-stream.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A complete response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

fn write_request(
    s: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
}

type Headers = Vec<(String, String)>;

fn split_head(raw: &[u8]) -> Option<(u16, Headers, usize)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    Some((status, headers, end + 4))
}

/// Decodes a chunked body; returns the bytes decoded so far (complete chunks only).
pub fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&raw[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size + 2 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// Sends one request and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write_request(&mut s, method, path, headers, body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

/// Parses a whole raw HTTP/1.1 response (head, then a plain or chunked body).
pub fn parse_response(raw: &[u8]) -> Response {
    let (status, headers, start) = split_head(raw)
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(raw)));
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(&raw[start..])
    } else {
        raw[start..].to_vec()
    };
    Response {
        status,
        headers,
        body,
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], b"")
}

/// POSTs JSON with the test API key.
pub fn post(addr: SocketAddr, path: &str, body: &Value) -> Response {
    let auth = format!("Bearer {}", crate::config::KEY);
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

/// A chat request body for the demo model.
pub fn chat_body(prompt: &str, stream: bool) -> Value {
    serde_json::json!({"model": "codex-demo", "stream": stream, "stream_options": {"include_usage": stream},
        "messages": [{"role": "user", "content": prompt}]})
}

/// A response being read incrementally (for SSE), which can be dropped to hang up.
pub struct Streaming {
    sock: TcpStream,
    raw: Vec<u8>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    body_start: usize,
}

impl Streaming {
    pub fn open(addr: SocketAddr, path: &str, body: &Value) -> Streaming {
        Streaming::open_as(addr, path, crate::config::KEY, body)
    }

    /// Opens a streaming request authenticated with `key`.
    pub fn open_as(addr: SocketAddr, path: &str, key: &str, body: &Value) -> Streaming {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let auth = format!("Bearer {key}");
        write_request(
            &mut sock,
            "POST",
            path,
            &[("Authorization", &auth)],
            body.to_string().as_bytes(),
        );
        let mut s = Streaming {
            sock,
            raw: Vec::new(),
            status: 0,
            headers: Vec::new(),
            body_start: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while s.status == 0 {
            assert!(Instant::now() < deadline, "no response head");
            s.fill();
            if let Some((status, headers, start)) = split_head(&s.raw) {
                (s.status, s.headers, s.body_start) = (status, headers, start);
            }
        }
        s
    }

    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        match self.sock.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                true
            }
            Err(_) => true,
        }
    }

    /// The decoded body so far.
    pub fn body(&self) -> String {
        String::from_utf8_lossy(&dechunk(&self.raw[self.body_start..])).into_owned()
    }

    /// Reads until `pred(body)` holds (bounded).
    pub fn read_until(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let body = self.body();
            if pred(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "stream did not reach the expected state; body so far:\n{body}"
            );
            if !self.fill() {
                let body = self.body();
                assert!(pred(&body), "stream closed early; body:\n{body}");
                return body;
            }
        }
    }

    /// Reads to the end of the response (the server closes the connection).
    pub fn read_to_end(&mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while self.fill() {
            assert!(
                Instant::now() < deadline,
                "stream did not end; body so far:\n{}",
                self.body()
            );
        }
        self.body()
    }
}

/// The JSON payloads of the `data:` lines of an SSE body (`[DONE]` excluded).
pub fn sse_data(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad SSE data ({e}): {d}")))
        .collect()
}
