//! The one root logger: JSON lines (or `pretty` for local work) on stdout through
//! slog-async, with the canonical fields on every line, plus the panic hook's last line.

use crate::config::{Log, LogFormat, LogLevel};
use codexd_actors::clock;
use codexd_actors::events::{Event, RuntimeEvent};
use slog::{
    o, Drain, FnValue, Key, Level, LevelFilter, Logger, OwnedKVList, PushFnValue, Record,
    Serializer, KV,
};
use std::io::Write;
use std::sync::Mutex;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Keeps the async drain and the event-line thread alive; dropping it writes out every
/// pending line.
pub struct LogGuard(
    Option<slog_async::AsyncGuard>,
    Option<crate::log_lines::LinesGuard>,
);

impl Drop for LogGuard {
    fn drop(&mut self) {
        // Event lines first (they were queued before the process began to exit), then the
        // async drain's: each thread has then written everything into the buffer.
        drop(self.1.take());
        drop(self.0.take());
        crate::stdout_buffer::SharedStdout::flush_if_started();
    }
}

/// A level's name on the log line (slog's `critical` is written as `error`).
pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::Critical | Level::Error => "error",
        Level::Warning => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

pub fn filter_level(l: LogLevel) -> Level {
    match l {
        LogLevel::Trace => Level::Trace,
        LogLevel::Debug => Level::Debug,
        LogLevel::Info => Level::Info,
        LogLevel::Warn => Level::Warning,
        LogLevel::Error => Level::Error,
    }
}

/// The JSON drain with the canonical fields; `flush` writes out every line at once.
fn json_drain<W: Write + Send + 'static>(w: W, flush: bool) -> slog_json::Json<W> {
    slog_json::Json::new(w)
        .set_flush(flush)
        .add_key_value(o!(
            "ts" => PushFnValue(|_: &Record<'_>, ser| ser.emit(clock::now_rfc3339())),
            "level" => FnValue(|r: &Record<'_>| level_name(r.level())),
            "msg" => PushFnValue(|r: &Record<'_>, ser| ser.emit(r.msg())),
            "service" => "codexd",
            "version" => VERSION,
        ))
        .build()
}

/// Builds the root logger for the configured format and level.
pub fn root(cfg: &Log) -> (Logger, LogGuard) {
    let level = filter_level(cfg.level);
    let (async_drain, guard, lines) = match cfg.format {
        LogFormat::Json => {
            let out = crate::stdout_buffer::SharedStdout::get();
            // Bus events are encoded by their own thread (log_lines.rs); the logger keeps
            // the few lines written without a bus (start-up failures).
            let lines = crate::log_lines::start(out.clone()).map(|(_, g)| g);
            let (d, g) = build_async(json_drain(
                crate::stdout_buffer::WholeLines::new(out),
                false,
            ));
            (d, g, lines)
        }
        LogFormat::Pretty => {
            let (d, g) = build_async(Pretty);
            (d, g, None)
        }
    };
    let drain = LevelFilter::new(async_drain, level).fuse();
    (Logger::root(drain, o!()), LogGuard(Some(guard), lines))
}

fn build_async<D>(d: D) -> (slog_async::Async, slog_async::AsyncGuard)
where
    D: Drain<Ok = (), Err = std::io::Error> + Send + 'static,
{
    slog_async::Async::new(d.fuse())
        .chan_size(16_384)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .thread_name("codexd-log".into())
        .build_with_guard()
}

/// A synchronous JSON logger writing to `w` (tests compare its lines with log_lines.rs').
#[cfg(test)]
pub fn json_logger_for_tests<W: Write + Send + 'static>(w: W) -> Logger {
    Logger::root(Mutex::new(json_drain(w, true)).fuse(), o!())
}

/// A synchronous JSON logger for the last words of a dying process.
///
/// It writes through the same buffered stdout as the log thread, after what is already
/// buffered, and flushes every line at once.
pub fn sync_logger() -> Logger {
    let drain = json_drain(crate::stdout_buffer::SharedStdout::get(), true);
    Logger::root(Mutex::new(drain).fuse(), o!())
}

/// Installs a panic hook that writes one final JSON line (release builds then abort).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // Only static messages are recorded: a formatted panic message could carry data.
        let error = info
            .payload()
            .downcast_ref::<&'static str>()
            .copied()
            .unwrap_or("panic");
        let event = Event::Runtime(RuntimeEvent::PanicOccurred { location, error });
        codexd_actors::bus::stamp(&sync_logger(), event);
    }));
}

/// Human-readable lines: `ts level component event msg key=value ...`.
struct Pretty;

struct PrettyKv(String);

impl Serializer for PrettyKv {
    fn emit_arguments(&mut self, key: Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}

impl Drain for Pretty {
    type Ok = ();
    type Err = std::io::Error;
    fn log(&self, r: &Record<'_>, values: &OwnedKVList) -> Result<(), std::io::Error> {
        let mut kv = PrettyKv(String::new());
        let _ = r.kv().serialize(r, &mut kv);
        let _ = values.serialize(r, &mut kv);
        let line = format!(
            "{} {:5} {}{}\n",
            clock::now_rfc3339(),
            level_name(r.level()),
            r.msg(),
            kv.0
        );
        std::io::stdout().lock().write_all(line.as_bytes())
    }
}
