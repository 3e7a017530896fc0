//! The event-line thread (`log.format = "json"`): the bus hands it each stamped envelope at
//! or above the log level, and it encodes the line once, straight into bytes, off the bus's
//! thread, then writes every line it has in one go to the shared stdout buffer. The line is
//! the one slog-json writes (`version`, `service`, `msg`, `level`, `ts`, the event's fields,
//! `event`, `component`, `seq`), without building an owned copy of every field first.

use crate::json_text::json_str;
use crate::stdout_buffer::SharedStdout;
use codexd_actors::bus::{self, Envelope, LineSink};
use slog::{Key, Serializer};
use std::fmt::Write as _;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Lines waiting for the thread; a full queue blocks the bus, as slog-async's `Block` did.
const QUEUE: usize = 16_384;
/// How long the guard waits for the thread to write out what is queued.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

enum Msg {
    Line(Arc<Envelope>),
    /// Write out everything before this, then answer.
    Flush(SyncSender<()>),
}

/// The bus's end: a [`LineSink`].
pub struct EventLines(SyncSender<Msg>);

impl LineSink for EventLines {
    fn line(&self, envelope: Arc<Envelope>) {
        let _ = self.0.send(Msg::Line(envelope));
    }
}

/// Writes out every queued line when dropped (the daemon's exit).
pub struct LinesGuard(SyncSender<Msg>);

impl Drop for LinesGuard {
    fn drop(&mut self) {
        let (ack, done) = sync_channel(1);
        if self.0.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(FLUSH_WAIT);
        }
    }
}

static SINK: OnceLock<SyncSender<Msg>> = OnceLock::new();

/// Starts the thread and makes it the process's line sink ([`sink`]); `None` if it could
/// not be spawned (lines then go through the logger).
pub fn start(out: SharedStdout) -> Option<(EventLines, LinesGuard)> {
    let (tx, rx) = sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("codexd-log-lines".into())
        .spawn(move || run(&rx, out, || std::thread::sleep(POLL)))
        .ok()?;
    let _ = SINK.set(tx.clone());
    Some((EventLines(tx.clone()), LinesGuard(tx)))
}

/// The process's line sink, when the JSON log thread runs.
pub fn sink() -> Option<EventLines> {
    SINK.get().map(|tx| EventLines(tx.clone()))
}

/// Between two drains while lines keep coming: the thread polls instead of being woken per
/// line (no futex on the publisher's side), and blocks again once a poll finds nothing.
/// Each poll is a sleep and a wake (about 14 % of the thread's time at 2 ms under load);
/// 5 ms keeps a line's delay far below anything a reader of the logs notices, and the
/// queue holds three orders of magnitude more lines than arrive in it.
const POLL: Duration = Duration::from_millis(5);

/// Bytes encoded per write. A batch that reaches it is written and the next one follows at
/// once: only a drained queue waits for the next poll, so the thread's pace is its own and
/// not one batch per poll (which capped the daemon at 60 KB of lines per poll interval,
/// about 12 k requests per second at 5 ms, with publishers blocked on the full queue).
const BATCH: usize = 60 * 1024;

/// The thread's loop: `pause` is the poll's sleep, and `out` is flushed (written through)
/// when a `Flush` asks and at the end.
fn run(rx: &Receiver<Msg>, mut out: impl std::io::Write, pause: impl Fn()) {
    let mut buf = Vec::with_capacity(BATCH + 4 * 1024);
    let mut stamp = Stamp::default();
    // Lines came since the thread last blocked; the last batch stopped at BATCH.
    let (mut busy, mut full) = (false, false);
    loop {
        let first = if busy {
            if !full {
                pause();
            }
            match rx.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Empty) => {
                    // After a full batch, poll once more before blocking.
                    (busy, full) = (full, false);
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            }
        };
        (busy, full) = (true, false);
        let mut acks = Vec::new();
        let mut next = Some(first);
        // What is already queued goes out in one write, up to BATCH.
        while let Some(m) = next {
            match m {
                Msg::Line(e) => encode_stamped(&mut buf, &e, &mut stamp),
                Msg::Flush(ack) => acks.push(ack),
            }
            full = buf.len() >= BATCH;
            next = if full { None } else { rx.try_recv().ok() };
        }
        let _ = out.write_all(&buf);
        buf.clear();
        if !acks.is_empty() {
            let _ = out.flush();
            for a in acks {
                let _ = a.send(());
            }
        }
    }
    let _ = out.flush();
}

/// Appends one event's line, newline included.
pub fn encode(buf: &mut Vec<u8>, e: &Envelope) {
    encode_stamped(buf, e, &mut Stamp::default());
}

/// The `ts` text of the last line, by whole second: lines of one second share their date and
/// time, so only the milliseconds are written anew.
#[derive(Default)]
pub struct Stamp {
    secs: u64,
    text: [u8; 24],
}

impl Stamp {
    fn of(&mut self, at: std::time::SystemTime) -> &[u8; 24] {
        let since = at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let secs = since.as_secs();
        if secs != self.secs || self.text[0] == 0 {
            self.text = codexd_actors::clock::rfc3339_bytes(at);
            self.secs = secs;
        } else {
            let ms = since.subsec_millis();
            // `YYYY-MM-DDTHH:MM:SS.mmmZ`: the milliseconds are bytes 20 to 22.
            self.text[20] = b'0' + (ms / 100) as u8;
            self.text[21] = b'0' + (ms / 10 % 10) as u8;
            self.text[22] = b'0' + (ms % 10) as u8;
        }
        &self.text
    }
}

/// [`encode`], with the `ts` of the line before.
fn encode_stamped(buf: &mut Vec<u8>, e: &Envelope, stamp: &mut Stamp) {
    let meta = e.event.meta();
    let start = buf.len();
    // Most lines are shorter: one allocation check for the whole line.
    buf.reserve(1024);
    buf.extend_from_slice(b"{\"version\":");
    json_str(buf, crate::logging::VERSION);
    buf.extend_from_slice(b",\"service\":\"codexd\",\"msg\":");
    json_str(buf, meta.msg);
    buf.extend_from_slice(b",\"level\":\"");
    buf.extend_from_slice(crate::logging::level_name(meta.level).as_bytes());
    buf.extend_from_slice(b"\",\"ts\":\"");
    buf.extend_from_slice(stamp.of(e.at));
    buf.push(b'"');
    let mut fields = Fields { buf };
    if bus::serialize_line(e.seq, &e.event, &mut fields).is_err() {
        // A field that cannot be written: drop the half line rather than emit broken JSON.
        fields.buf.truncate(start);
        return;
    }
    fields.buf.extend_from_slice(b"}\n");
}

/// Writes each field as `,"key":value`, with serde_json's escaping and number formatting
/// (what slog-json uses). Keys are the events' own snake_case field names, which never need
/// escaping (`tests/docs/lines.rs` holds every event's line to that), so they are copied as
/// they are.
struct Fields<'a> {
    buf: &'a mut Vec<u8>,
}

impl Fields<'_> {
    fn key(&mut self, key: Key) {
        self.buf.extend_from_slice(b",\"");
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    fn int(&mut self, key: Key, v: impl itoa::Integer) -> slog::Result {
        self.key(key);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }

    fn value<T: serde::Serialize + ?Sized>(&mut self, key: Key, v: &T) -> slog::Result {
        self.key(key);
        serde_json::to_writer(&mut *self.buf, v).map_err(|e| slog::Error::Io(e.into()))
    }
}

impl Serializer for Fields<'_> {
    fn emit_arguments(&mut self, key: Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        let mut s = String::new();
        let _ = s.write_fmt(*val);
        self.emit_str(key, &s)
    }
    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        self.key(key);
        json_str(self.buf, val);
        Ok(())
    }
    fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
        self.key(key);
        self.buf
            .extend_from_slice(if val { b"true" } else { b"false" });
        Ok(())
    }
    fn emit_char(&mut self, key: Key, val: char) -> slog::Result {
        self.value(key, &val)
    }
    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.key(key);
        self.buf.extend_from_slice(b"null");
        Ok(())
    }
    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.emit_none(key)
    }
    fn emit_u8(&mut self, key: Key, val: u8) -> slog::Result {
        self.int(key, val)
    }
    fn emit_u16(&mut self, key: Key, val: u16) -> slog::Result {
        self.int(key, val)
    }
    fn emit_u32(&mut self, key: Key, val: u32) -> slog::Result {
        self.int(key, val)
    }
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        self.int(key, val)
    }
    fn emit_usize(&mut self, key: Key, val: usize) -> slog::Result {
        self.int(key, val)
    }
    fn emit_i8(&mut self, key: Key, val: i8) -> slog::Result {
        self.int(key, val)
    }
    fn emit_i16(&mut self, key: Key, val: i16) -> slog::Result {
        self.int(key, val)
    }
    fn emit_i32(&mut self, key: Key, val: i32) -> slog::Result {
        self.int(key, val)
    }
    fn emit_i64(&mut self, key: Key, val: i64) -> slog::Result {
        self.int(key, val)
    }
    fn emit_isize(&mut self, key: Key, val: isize) -> slog::Result {
        self.int(key, val)
    }
    fn emit_f32(&mut self, key: Key, val: f32) -> slog::Result {
        self.value(key, &val)
    }
    fn emit_f64(&mut self, key: Key, val: f64) -> slog::Result {
        self.value(key, &val)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codexd_actors::events::{Event, RuntimeEvent};
    use std::sync::Mutex;

    /// A writer the tests read back.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The same envelope through slog-json (the logger path) and through `encode`.
    #[test]
    fn a_line_is_the_one_slog_json_writes() {
        let event = Event::Runtime(RuntimeEvent::DaemonStarted {
            workers: 2,
            pid: 42,
        });
        let e = Envelope {
            seq: 7,
            at: std::time::SystemTime::now(),
            event,
        };
        let mut fast = Vec::new();
        encode(&mut fast, &e);
        let fast: serde_json::Value = serde_json::from_slice(&fast).unwrap();

        let out = Buf::default();
        let logger = crate::logging::json_logger_for_tests(out.clone());
        let stamped = bus::stamp(&logger, e.event.clone());
        let slow: serde_json::Value = serde_json::from_slice(&out.0.lock().unwrap()).unwrap();
        let mut fast = fast.as_object().unwrap().clone();
        let mut slow = slow.as_object().unwrap().clone();
        assert_eq!(slow.remove("seq"), Some(stamped.seq.into()));
        assert_eq!(fast.remove("seq"), Some(7.into()));
        assert!(fast.remove("ts").unwrap().is_string());
        assert!(slow.remove("ts").unwrap().is_string());
        assert_eq!(fast, slow);
        let keys: Vec<_> = fast.keys().cloned().collect();
        assert!(keys.contains(&"version".to_owned()) && keys.contains(&"component".to_owned()));
    }

    /// Lines queued faster than one batch per poll are written batch after batch without a
    /// pause between them: a backlog of about seven batches takes no pause before the flush
    /// behind it is answered (one pause per batch capped the thread at one batch
    /// per poll interval).
    #[test]
    fn a_backlog_is_written_without_pausing_between_batches() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const LINES: usize = 3_000;
        let (tx, rx) = sync_channel(QUEUE);
        for i in 0..LINES {
            tx.send(Msg::Line(Arc::new(Envelope {
                seq: i as u64,
                at: std::time::SystemTime::now(),
                event: Event::Runtime(RuntimeEvent::DaemonStarted {
                    workers: 2,
                    pid: i as u32,
                }),
            })))
            .unwrap();
        }
        let (ack, done) = sync_channel(1);
        tx.send(Msg::Flush(ack)).unwrap();
        let out = Buf::default();
        let pauses = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (out, pauses) = (out.clone(), pauses.clone());
            std::thread::spawn(move || {
                run(&rx, out, || {
                    pauses.fetch_add(1, Ordering::SeqCst);
                })
            })
        };
        done.recv_timeout(Duration::from_secs(30)).unwrap();
        let written = out.0.lock().unwrap().clone();
        assert!(written.len() > 6 * BATCH, "{} bytes", written.len());
        assert_eq!(written.iter().filter(|&&b| b == b'\n').count(), LINES);
        // The one pause allowed is the one after the flush, which may have begun already.
        let paused = pauses.load(Ordering::SeqCst);
        assert!(paused <= 1, "paused {paused} times between batches");
        drop(tx);
        thread.join().unwrap();
    }

    /// Within one second only the milliseconds are rewritten; across seconds (either way)
    /// the whole text is: always what the clock formatter writes.
    #[test]
    fn a_stamp_is_the_clock_text_of_each_instant() {
        use std::time::{Duration, UNIX_EPOCH};
        let mut stamp = Stamp::default();
        for ms in [
            1_796_234_501_000u64,
            1_796_234_501_007,
            1_796_234_501_999,
            1_796_234_502_040,
            1_796_234_501_500,
            1_796_320_901_123,
            0,
        ] {
            let at = UNIX_EPOCH + Duration::from_millis(ms);
            assert_eq!(
                stamp.of(at),
                &codexd_actors::clock::rfc3339_bytes(at),
                "{ms}"
            );
        }
    }

    #[test]
    fn a_flush_answers_after_the_lines_before_it() {
        let (s, guard) = start(SharedStdout::get()).unwrap();
        s.line(Arc::new(Envelope {
            seq: 1,
            at: std::time::SystemTime::now(),
            event: Event::Runtime(RuntimeEvent::ContentCaptureEnabled),
        }));
        let (ack, done) = sync_channel(1);
        s.0.send(Msg::Flush(ack)).unwrap();
        assert!(done.recv_timeout(Duration::from_secs(5)).is_ok());
        drop(guard);
    }
}
