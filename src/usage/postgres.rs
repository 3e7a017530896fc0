//! The shared ledger: one PostgreSQL table every replica upserts into (the upsert adds, so
//! replicas never overwrite each other's counts). The synchronous client runs on the ledger
//! thread; connection errors are reported without the URL (it may hold a password).

use super::store::{Batch, Counts, Filter, RowKey, Store, StoreError, DELETE_BEFORE, SCHEMA};
use super::store::{SELECT, UPSERT};
use postgres::{Client, NoTls};
use std::time::Duration;

pub struct Postgres {
    url: String,
    client: Option<Client>,
}

fn err(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {e}"),
    }
}

impl Postgres {
    /// Connects and creates the table. A later connection loss reconnects on the next flush.
    pub fn connect(url: &str) -> Result<Postgres, StoreError> {
        let mut p = Postgres {
            url: url.to_owned(),
            client: None,
        };
        p.client()?;
        Ok(p)
    }

    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let mut config: postgres::Config = self.url.parse().map_err(err)?;
            if config.get_connect_timeout().is_none() {
                config.connect_timeout(Duration::from_secs(5));
            }
            let mut client = config.connect(NoTls).map_err(err)?;
            client.batch_execute(SCHEMA).map_err(err)?;
            self.client = Some(client);
        }
        self.client
            .as_mut()
            .ok_or_else(|| "postgres: not connected".to_owned())
    }

    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let client = self.client()?;
        let out = f(client).map_err(err);
        if out.is_err() && self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        out
    }
}

impl Store for Postgres {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn upsert(&mut self, batch: &Batch, delete_before: Option<&str>) -> Result<(), StoreError> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            let stmt = tx.prepare(UPSERT)?;
            for (k, counts) in batch {
                let v = counts.columns();
                tx.execute(
                    &stmt,
                    &[
                        &k.key, &k.model, &k.day, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    ],
                )?;
            }
            if let Some(day) = delete_before {
                tx.execute(DELETE_BEFORE, &[&day])?;
            }
            tx.commit()
        })
    }

    fn query(&mut self, filter: &Filter) -> Result<Vec<(RowKey, Counts)>, StoreError> {
        let p = filter.params();
        let rows = self.run(|c| c.query(SELECT, &[&p[0], &p[1], &p[2], &p[3]]))?;
        rows.iter()
            .map(|r| {
                Ok((
                    RowKey {
                        key: r.try_get(0).map_err(err)?,
                        model: r.try_get(1).map_err(err)?,
                        day: r.try_get(2).map_err(err)?,
                    },
                    Counts::from_columns([
                        r.try_get(3).map_err(err)?,
                        r.try_get(4).map_err(err)?,
                        r.try_get(5).map_err(err)?,
                        r.try_get(6).map_err(err)?,
                        r.try_get(7).map_err(err)?,
                        r.try_get(8).map_err(err)?,
                    ]),
                ))
            })
            .collect()
    }
}
