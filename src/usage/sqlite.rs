//! The embedded ledger: one SQLite file in WAL mode (a crash leaves the last committed
//! transaction; `synchronous = NORMAL` is durable against a process kill, which is what the
//! ledger promises), written by the ledger thread only.

use super::store::{Batch, Counts, Filter, RowKey, Store, StoreError, DELETE_BEFORE, SCHEMA};
use super::store::{SELECT, UPSERT};
use rusqlite::{params, Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

pub struct Sqlite {
    conn: Connection,
}

fn err(e: rusqlite::Error) -> StoreError {
    format!("sqlite: {e}")
}

impl Sqlite {
    /// Opens (creating if needed) the ledger file and its table.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Sqlite { conn })
    }

    /// Opens an existing ledger file for reading (`codexd usage`).
    pub fn open_read_only(path: &Path) -> Result<Sqlite, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        Ok(Sqlite { conn })
    }
}

impl Store for Sqlite {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn upsert(&mut self, batch: &Batch, delete_before: Option<&str>) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut stmt = tx.prepare_cached(UPSERT).map_err(err)?;
            for (k, c) in batch {
                let v = c.columns();
                stmt.execute(params![
                    k.key, k.model, k.day, v[0], v[1], v[2], v[3], v[4], v[5]
                ])
                .map_err(err)?;
            }
            if let Some(day) = delete_before {
                tx.execute(DELETE_BEFORE, params![day]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn query(&mut self, filter: &Filter) -> Result<Vec<(RowKey, Counts)>, StoreError> {
        let p = filter.params();
        let mut stmt = self.conn.prepare(SELECT).map_err(err)?;
        let rows = stmt
            .query_map(params![p[0], p[1], p[2], p[3]], |r| {
                Ok((
                    RowKey {
                        key: r.get(0)?,
                        model: r.get(1)?,
                        day: r.get(2)?,
                    },
                    Counts::from_columns([
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ]),
                ))
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }
}
