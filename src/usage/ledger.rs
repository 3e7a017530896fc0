//! The ledger thread: the one owner of the store. It writes what is pending every flush
//! interval (one transaction, an upsert that adds), deletes days past the retention, answers
//! reads (after writing what is pending, so a read sees its own traffic), and writes the last
//! batch when asked to stop. A failed write keeps the batch for the next flush and is
//! reported (`usage_flush_failed`, at most once a minute while failing).

use super::day;
use super::metrics::LedgerMetrics;
use super::pending::Pending;
use super::store::{Counts, Filter, RowKey, Store, StoreError};
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::BusHandle;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How often a failing ledger repeats its warning.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Rows read back from the store.
pub type Rows = Vec<(RowKey, Counts)>;

enum Cmd {
    Flush(mpsc::SyncSender<Result<(), StoreError>>),
    Query(
        Filter,
        tokio::sync::oneshot::Sender<Result<Rows, StoreError>>,
    ),
}

/// Settings of the ledger thread.
pub struct LedgerSettings {
    pub flush_interval: Duration,
    /// Days kept, today included; 0 keeps everything.
    pub retention_days: u32,
}

/// The handle the daemon holds: the pending rows and the thread's channel.
pub struct Ledger {
    pending: Arc<Pending>,
    tx: Mutex<Option<Sender<Cmd>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Worker {
    store: Box<dyn Store>,
    pending: Arc<Pending>,
    metrics: LedgerMetrics,
    bus: Option<BusHandle>,
    settings: LedgerSettings,
    retention_done_for: Option<i64>,
    failures: u64,
    last_report: Option<Instant>,
}

impl Worker {
    fn flush(&mut self) -> Result<(), StoreError> {
        let (batch, oldest) = self.pending.take();
        if batch.is_empty() {
            self.metrics.lag_seconds.set(0.0);
            return Ok(());
        }
        let today = day::day_number(SystemTime::now());
        let delete_before = (self.settings.retention_days > 0
            && self.retention_done_for != Some(today))
        .then(|| day::format_day(today - i64::from(self.settings.retention_days) + 1));
        let backend = self.store.backend();
        let started = Instant::now();
        let result = self.store.upsert(&batch, delete_before.as_deref());
        self.metrics
            .flush_seconds
            .with_label_values(&[backend])
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(()) => {
                if delete_before.is_some() {
                    self.retention_done_for = Some(today);
                }
                self.failures = 0;
            }
            Err(e) => {
                let rows = batch.len() as u64;
                self.pending.restore(batch, oldest);
                self.metrics
                    .flush_errors
                    .with_label_values(&[backend])
                    .inc();
                self.failures += 1;
                let due = self.last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY);
                if due {
                    self.last_report = Some(Instant::now());
                    if let Some(bus) = &self.bus {
                        bus.publish(Event::Runtime(RuntimeEvent::UsageFlushFailed {
                            backend,
                            rows,
                            failures: self.failures,
                            error: e.clone(),
                        }));
                    }
                }
            }
        }
        self.metrics.lag_seconds.set(self.pending.lag_seconds());
        result
    }

    fn run(mut self, rx: Receiver<Cmd>) {
        let mut next = Instant::now() + self.settings.flush_interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Cmd::Flush(reply)) => {
                    let _ = reply.send(self.flush());
                }
                Ok(Cmd::Query(filter, reply)) => {
                    let _ = self.flush();
                    let _ = reply.send(self.store.query(&filter));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.flush();
                    next = Instant::now() + self.settings.flush_interval;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.flush();
                    return;
                }
            }
        }
    }
}

impl Ledger {
    /// Starts the ledger thread over an opened store.
    pub fn start(
        store: Box<dyn Store>,
        pending: Arc<Pending>,
        metrics: LedgerMetrics,
        bus: Option<BusHandle>,
        settings: LedgerSettings,
    ) -> Result<Ledger, StoreError> {
        let (tx, rx) = mpsc::channel();
        let worker = Worker {
            store,
            pending: pending.clone(),
            metrics,
            bus,
            settings,
            retention_done_for: None,
            failures: 0,
            last_report: None,
        };
        let thread = std::thread::Builder::new()
            .name("codexd-usage-ledger".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| format!("cannot start the ledger thread: {e}"))?;
        Ok(Ledger {
            pending,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn pending(&self) -> &Arc<Pending> {
        &self.pending
    }

    fn send(&self, cmd: Cmd) -> bool {
        self.tx
            .lock()
            .ok()
            .and_then(|tx| tx.as_ref().map(|tx| tx.send(cmd).is_ok()))
            .unwrap_or(false)
    }

    /// Writes what is pending now; blocks up to `timeout`. False when it failed or timed out.
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        let (reply, rx) = mpsc::sync_channel(1);
        self.send(Cmd::Flush(reply)) && matches!(rx.recv_timeout(timeout), Ok(Ok(())))
    }

    /// Reads rows (after writing what is pending).
    pub async fn query(&self, filter: Filter, timeout: Duration) -> Result<Rows, StoreError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if !self.send(Cmd::Query(filter, reply)) {
            return Err("the ledger is stopped".into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(_)) => Err("the ledger is stopped".into()),
            Err(_) => Err("the ledger did not answer in time".into()),
        }
    }

    /// Writes the last batch and stops the thread.
    pub fn stop(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.stop();
    }
}
