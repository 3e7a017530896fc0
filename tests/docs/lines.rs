//! The log-lines thread's encoder (`src/log_lines.rs`) against slog-json, over one sample of
//! every event: the same fields with the same values, every key a plain snake_case name (the
//! encoder copies keys without escaping them), and the canonical fields first.

use super::samples::sample_events;
use codexd_actors::bus::{self, Envelope};
use serde_json::{Map, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn object(line: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(m)) => m,
        other => panic!(
            "not a JSON object: {other:?} from {}",
            String::from_utf8_lossy(line)
        ),
    }
}

fn plain_key(k: &str) -> bool {
    k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

#[test]
fn every_event_line_is_the_one_slog_json_writes_with_plain_keys() {
    use slog::Drain;
    let samples = sample_events();
    assert!(samples.len() > 50, "{} samples", samples.len());
    for event in samples {
        let out = Buf::default();
        let logger = slog::Logger::root(
            Mutex::new(slog_json::Json::new(out.clone()).build()).fuse(),
            slog::o!(),
        );
        let stamped = bus::stamp(&logger, event.clone());
        let mut slow = object(&out.0.lock().unwrap());
        let mut fast = Vec::new();
        codexd::log_lines::encode(
            &mut fast,
            &Envelope {
                seq: stamped.seq,
                at: stamped.at,
                event: event.clone(),
            },
        );
        let name = event.meta().name;
        assert!(fast.ends_with(b"}\n") && fast.iter().filter(|&&b| b == b'\n').count() == 1);
        let text = String::from_utf8(fast.clone()).unwrap();
        let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX);
        let head = ["version", "service", "msg", "level", "ts"].map(at);
        assert!(
            head[0] == 1 && head.windows(2).all(|w| w[0] < w[1]),
            "{name}: {text}"
        );
        let mut fast = object(&fast);
        for k in fast.keys() {
            assert!(
                plain_key(k),
                "{name}: key {k:?} is not a plain snake_case name"
            );
        }
        assert_eq!(
            fast.remove("msg"),
            Some(Value::from(event.meta().msg)),
            "{name}"
        );
        assert_eq!(
            fast.remove("service"),
            Some(Value::from("codexd")),
            "{name}"
        );
        for k in ["version", "level", "ts"] {
            assert!(fast.remove(k).is_some_and(|v| v.is_string()), "{name}: {k}");
        }
        // slog-json's own line: the record's fields only.
        slow.remove("msg");
        assert_eq!(fast, slow, "{name}");
    }
}
