//! The ledger's storage: one row per key × model × UTC day, added to by upserts, read by
//! filters. `Store` is implemented by the embedded SQLite file (`sqlite.rs`) and a shared
//! PostgreSQL table (`postgres.rs`); both use the same schema and the same upsert.

use std::collections::BTreeMap;

/// A row's identity. `key` is the key id, empty for requests that carried no valid key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    pub key: String,
    pub model: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
}

/// A row's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub errors: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.input_tokens += o.input_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.output_tokens += o.output_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.errors += o.errors;
    }

    /// The counters as the six column values, in schema order.
    pub fn columns(&self) -> [i64; 6] {
        [
            self.requests,
            self.input_tokens,
            self.cached_input_tokens,
            self.output_tokens,
            self.reasoning_tokens,
            self.errors,
        ]
        .map(|v| i64::try_from(v).unwrap_or(i64::MAX))
    }

    pub fn from_columns(c: [i64; 6]) -> Counts {
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        Counts {
            requests: u(c[0]),
            input_tokens: u(c[1]),
            cached_input_tokens: u(c[2]),
            output_tokens: u(c[3]),
            reasoning_tokens: u(c[4]),
            errors: u(c[5]),
        }
    }
}

/// A batch of rows to add.
pub type Batch = BTreeMap<RowKey, Counts>;

/// What a reader asks for; every part optional, dates inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub key: Option<String>,
    pub model: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A store's failure, already a short description (never a credential).
pub type StoreError = String;

/// One ledger backend.
pub trait Store: Send {
    /// `sqlite` or `postgres`: the `backend` label.
    fn backend(&self) -> &'static str;
    /// Adds `batch` to the stored rows in one transaction, and deletes days before
    /// `delete_before` (`YYYY-MM-DD`) when given.
    fn upsert(&mut self, batch: &Batch, delete_before: Option<&str>) -> Result<(), StoreError>;
    /// The rows matching `filter`, ordered by day, key, model.
    fn query(&mut self, filter: &Filter) -> Result<Vec<(RowKey, Counts)>, StoreError>;
}

/// The table, in SQL both backends accept.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS codexd_usage (
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    cached_input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key, model, day)
)";

/// The upsert: a row's counters are added to what is stored.
pub const UPSERT: &str = "INSERT INTO codexd_usage
    (key, model, day, requests, input_tokens, cached_input_tokens, output_tokens,
     reasoning_tokens, errors)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (key, model, day) DO UPDATE SET
        requests = codexd_usage.requests + excluded.requests,
        input_tokens = codexd_usage.input_tokens + excluded.input_tokens,
        cached_input_tokens = codexd_usage.cached_input_tokens + excluded.cached_input_tokens,
        output_tokens = codexd_usage.output_tokens + excluded.output_tokens,
        reasoning_tokens = codexd_usage.reasoning_tokens + excluded.reasoning_tokens,
        errors = codexd_usage.errors + excluded.errors";

pub const DELETE_BEFORE: &str = "DELETE FROM codexd_usage WHERE day < $1";

/// The query; an empty parameter matches everything.
pub const SELECT: &str = "SELECT key, model, day, requests, input_tokens, cached_input_tokens,
        output_tokens, reasoning_tokens, errors
    FROM codexd_usage
    WHERE ($1 = '' OR key = $1) AND ($2 = '' OR model = $2)
      AND ($3 = '' OR day >= $3) AND ($4 = '' OR day <= $4)
    ORDER BY day, key, model";

impl Filter {
    /// The four query parameters (empty for "any").
    pub fn params(&self) -> [String; 4] {
        [&self.key, &self.model, &self.from, &self.to].map(|p| p.clone().unwrap_or_default())
    }
}
