//! The HTTP front end: the API and probe routes, the optional separate metrics listener,
//! and the per-request bookkeeping that wraps them.

pub mod access;
pub mod admission;
pub mod auth;
pub mod authed_key;
pub mod body;
pub mod completions;
pub mod conn;
pub mod cors;
pub mod errors;
pub mod followup;
pub mod hot;
pub mod ids;
pub mod limits;
pub mod models;
pub mod openai;
pub mod peer;
pub mod probes;
pub mod quota;
pub mod routes;
pub mod server;
mod sse_body;
pub mod state;
pub mod usage;
