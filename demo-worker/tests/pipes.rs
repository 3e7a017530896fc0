//! The demo worker as a library on in-memory pipes: a turn end to end, and the run's end
//! (input closed, stop, a simulated crash) returned as an exit code.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed step fails the test"
)]

use std::time::Duration;

use codexd_demo_worker::{serve, Config, Pipes, CRASH_EXIT_CODE, EXIT_CLEAN};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::oneshot;

struct Client {
    stdin: DuplexStream,
    stdout: tokio::io::Lines<BufReader<DuplexStream>>,
}

impl Client {
    async fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
    }

    /// The next line as JSON, or `None` at EOF.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(5), self.stdout.next_line())
            .await
            .expect("a line within 5 s")
            .unwrap()?;
        Some(serde_json::from_str(&line).unwrap())
    }

    /// Skips lines until the answer to request `id`, and returns it.
    async fn answer(&mut self, id: u64) -> Value {
        loop {
            let line = self.next().await.expect("the worker ended first");
            if line["id"] == id && line.get("method").is_none() {
                return line;
            }
        }
    }

    async fn handshake_and_thread(&mut self) {
        self.send(r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"t"}}}"#)
            .await;
        self.answer(1).await;
        self.send(r#"{"id":2,"method":"thread/start","params":{}}"#)
            .await;
        self.answer(2).await;
    }

    async fn start_turn(&mut self) {
        self.send(r#"{"id":3,"method":"turn/start","params":{"threadId":"thr_1","input":[{"type":"text","text":"hi"}]}}"#).await;
    }
}

/// Runs the worker on a thread of its own; returns the client ends and the exit code's receiver.
fn start(config: Config) -> (Client, oneshot::Sender<()>, oneshot::Receiver<i32>) {
    let (stdin, worker_in) = tokio::io::duplex(64 * 1024);
    let (worker_out, stdout) = tokio::io::duplex(64 * 1024);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (code_tx, code_rx) = oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pipes = Pipes {
            stdin: worker_in,
            stdout: worker_out,
            stderr: tokio::io::sink(),
        };
        let code = runtime.block_on(serve(config, pipes, stop_rx));
        let _ = code_tx.send(code);
    });
    let stdout = BufReader::new(stdout).lines();
    (Client { stdin, stdout }, stop_tx, code_rx)
}

#[tokio::test]
async fn a_turn_streams_its_deltas_and_completes() {
    let (mut client, _stop, _code) = start(Config::default());
    client.handshake_and_thread().await;
    client.start_turn().await;
    let mut text = String::new();
    loop {
        let line = client.next().await.unwrap();
        if line["method"] == "item/agentMessage/delta" {
            text.push_str(line["params"]["delta"].as_str().unwrap());
        }
        if line["method"] == "turn/completed" {
            assert_eq!(line["params"]["turn"]["status"], "completed");
            break;
        }
    }
    assert_eq!(text, "You said: hi");
}

#[tokio::test]
async fn closing_stdin_ends_the_run_cleanly() {
    let (client, _stop, code) = start(Config::default());
    drop(client.stdin);
    assert_eq!(code.await.unwrap(), EXIT_CLEAN);
}

#[tokio::test]
async fn a_stop_ends_the_run_cleanly_and_closes_stdout() {
    let (mut client, stop, code) = start(Config::default());
    client.handshake_and_thread().await;
    stop.send(()).unwrap();
    assert_eq!(code.await.unwrap(), EXIT_CLEAN);
    // `thread/started` was still unread; then EOF.
    assert_eq!(client.next().await.unwrap()["method"], "thread/started");
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn a_crash_mid_turn_returns_its_code_after_the_lines_written_so_far() {
    let config = Config {
        crash_after_chunks: Some(2),
        ..Config::default()
    };
    let (mut client, _stop, code) = start(config);
    client.handshake_and_thread().await;
    client.start_turn().await;
    let mut deltas = 0;
    while let Some(line) = client.next().await {
        assert_ne!(line["method"], "turn/completed");
        deltas += usize::from(line["method"] == "item/agentMessage/delta");
    }
    assert_eq!(deltas, 2);
    assert_eq!(code.await.unwrap(), CRASH_EXIT_CODE);
}

#[tokio::test]
async fn exit_on_start_returns_at_once() {
    let config = Config {
        exit_on_start: Some(7),
        ..Config::default()
    };
    let (_client, _stop, code) = start(config);
    assert_eq!(code.await.unwrap(), 7);
}
