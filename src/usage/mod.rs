//! The usage ledger: per key × model × UTC day, requests, input / cached / output /
//! reasoning tokens and errors, for every generation request. A required bus subscriber
//! (`collector.rs`) counts in memory; the ledger thread (`ledger.rs`) writes every
//! `usage.flush_interval_ms` in one transaction to the embedded SQLite file (`usage.path`)
//! or, with `usage.postgres_url`, to a table every replica shares. A `kill -9` loses at most
//! one flush interval; SIGTERM writes the last batch (the `flush_telemetry` phase).

pub mod cli;
pub mod collector;
pub mod day;
pub mod format;
pub mod ledger;
pub mod metrics;
pub mod pending;
pub mod postgres;
pub mod sqlite;
pub mod store;

use crate::config::Config;
use actix::{Actor, Addr};
use codexd_actors::bus::SubscribeTo;
use codexd_actors::metrics::Metrics;
use codexd_actors::BusHandle;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use store::{Store, StoreError};

/// Which store the config asks for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(String),
    Postgres(String),
}

impl Backend {
    /// `usage.postgres_url` wins over `usage.path`; both empty disables the ledger.
    pub fn of(c: &Config) -> Option<Backend> {
        if !c.usage.postgres_url.is_empty() {
            Some(Backend::Postgres(c.usage.postgres_url.clone()))
        } else if !c.usage.path.is_empty() {
            Some(Backend::Sqlite(c.usage.path.clone()))
        } else {
            None
        }
    }

    /// The `backend` label.
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Opens the store for writing (creates the file or table).
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            Backend::Sqlite(p) => Box::new(sqlite::Sqlite::open(Path::new(p))?),
            Backend::Postgres(url) => Box::new(postgres::Postgres::connect(url)?),
        })
    }

    /// Opens the store for reading (`codexd usage`): an SQLite file must exist.
    pub fn open_read(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            Backend::Sqlite(p) => Box::new(sqlite::Sqlite::open_read_only(Path::new(p))?),
            Backend::Postgres(url) => Box::new(postgres::Postgres::connect(url)?),
        })
    }
}

/// The ledger as the daemon runs it.
pub struct Running {
    /// `None` when the ledger is disabled (no `usage.path`, no `usage.postgres_url`).
    pub ledger: Option<Arc<ledger::Ledger>>,
    /// `None` when there is nothing to count: no ledger and no per-key metrics.
    pub collector: Option<Addr<collector::UsageCollector>>,
}

/// Opens the store, registers the families, starts the ledger thread and subscribes the
/// collector to the bus (required: it must see every event) when it has anything to count.
pub fn start(c: &Config, metrics: &Metrics, bus: &BusHandle) -> Result<Running, StoreError> {
    let backend = Backend::of(c);
    let key_ids = c.metrics.key_label.then(|| c.key_ids());
    let label = backend.as_ref().map_or("sqlite", Backend::label);
    let families = metrics::LedgerMetrics::new(label, key_ids).map_err(|e| e.to_string())?;
    if backend.is_some() {
        for f in families.collectors() {
            metrics.register(f).map_err(|e| e.to_string())?;
        }
    } else if let Some(k) = &families.keys {
        metrics
            .register(Box::new(k.requests.clone()))
            .map_err(|e| e.to_string())?;
        metrics
            .register(Box::new(k.tokens.clone()))
            .map_err(|e| e.to_string())?;
    }
    let pending = Arc::new(pending::Pending::default());
    let ledger = match &backend {
        Some(b) => Some(Arc::new(ledger::Ledger::start(
            open_off_runtime(b)?,
            pending.clone(),
            families.clone(),
            Some(bus.clone()),
            ledger::LedgerSettings {
                flush_interval: Duration::from_millis(c.usage.flush_interval_ms),
                retention_days: c.usage.retention_days,
            },
        )?)),
        None => None,
    };
    let lag = ledger.as_ref().map(|_| families.lag_seconds.clone());
    // Without a ledger nothing would write the rows, and without per-key metrics nothing
    // else is counted: then no collector runs and no event is sent for it.
    let pending = ledger.as_ref().map(|_| pending);
    let collector = (pending.is_some() || families.keys.is_some()).then(|| {
        let collector = collector::UsageCollector::new(pending, families.keys.clone(), lag);
        let collector = collector.start();
        bus.subscribe(SubscribeTo {
            name: "usage",
            recipient: collector.clone().recipient(),
            required: true,
            wants: collector::UsageCollector::wants,
        });
        collector
    });
    Ok(Running { ledger, collector })
}

/// Opens the store on a plain thread: the PostgreSQL client runs its own runtime, which may
/// not be started from inside the daemon's.
fn open_off_runtime(b: &Backend) -> Result<Box<dyn Store>, StoreError> {
    std::thread::scope(|s| {
        s.spawn(|| b.open())
            .join()
            .unwrap_or_else(|_| Err("the ledger store could not be opened".into()))
    })
}
