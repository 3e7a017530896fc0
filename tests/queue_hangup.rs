//! A client that hangs up while its request waits in the admission queue leaves the queue at
//! once: the queue depth gauge drops within the hang-up probe's period, the request is
//! recorded as a client abort (499), and a new client finds room instead of `queue_full`.

use crate::api_errors::{chat, completed, one_worker, post_as, CHAT};
use crate::support::daemon::{Config, Daemon, KEY};
use crate::support::eventually;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The value of an unlabelled gauge on `/metrics`.
fn gauge(d: &Daemon, name: &str) -> f64 {
    d.metrics()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

const QUEUE: usize = 4;

fn config() -> Config {
    one_worker()
        .set("workers.max_turns_per_worker", "1")
        .set("admission.queue_size", &QUEUE.to_string())
        .set("admission.queue_timeout_ms", "20000")
        .worker_env("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "1500")
}

/// Sends a complete chat request on a raw socket and leaves it open.
fn send_request(d: &Daemon, req_id: &str) -> TcpStream {
    let body = chat("queued");
    let mut s = TcpStream::connect(d.addr).expect("connect");
    let head = format!(
        "POST {CHAT} HTTP/1.1\r\nHost: codexd\r\nAuthorization: Bearer {KEY}\r\n\
         X-Request-Id: {req_id}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(&body).expect("write body");
    s
}

#[test]
fn clients_that_hang_up_while_queued_free_their_places_at_once() {
    let d = Daemon::start_ready(config());
    // The only turn slot is busy for a while.
    let addr = d.addr;
    let first = std::thread::spawn(move || post_as(addr, CHAT, "first", &chat("slow")));
    d.wait_event(Duration::from_secs(5), "lease granted", |e| {
        e["event"] == "lease_granted" && e["req_id"] == "first"
    });
    // The queue fills with clients that then go away.
    let sockets: Vec<TcpStream> = (0..QUEUE)
        .map(|i| send_request(&d, &format!("gone-{i}")))
        .collect();
    eventually(Duration::from_secs(5), "a full queue", || {
        (gauge(&d, "codexd_admission_queue_depth") == QUEUE as f64).then_some(())
    });
    let hung_up = Instant::now();
    drop(sockets);
    eventually(Duration::from_secs(1), "the queue to empty", || {
        (gauge(&d, "codexd_admission_queue_depth") == 0.0).then_some(())
    });
    let emptied = hung_up.elapsed();
    assert!(
        emptied < Duration::from_millis(600),
        "emptied after {emptied:?}"
    );
    for i in 0..QUEUE {
        let done = completed(&d, &format!("gone-{i}"));
        assert_eq!(
            (&done["status"], &done["outcome"]),
            (&serde_json::json!(499), &serde_json::json!("client_abort")),
            "{done}"
        );
    }
    // A full queue's worth of new clients finds room: none is turned away as queue_full.
    let waiting: Vec<_> = (0..QUEUE)
        .map(|i| std::thread::spawn(move || post_as(addr, CHAT, &format!("next-{i}"), &chat("hi"))))
        .collect();
    assert_eq!(first.join().unwrap().status, 200);
    for w in waiting {
        let r = w.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(gauge(&d, "codexd_admission_queue_depth"), 0.0);
}
