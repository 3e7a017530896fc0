//! The in-process actor tests: the daemon's actor tree (bus, supervisor, connections, streams,
//! health, metrics) in one actix `System`, with demo workers running as a library on in-memory
//! pipes. Each case names one behaviour and runs in milliseconds; no process, socket or
//! external tool is involved.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod support;

mod cases;
