//! The wall clock as the wire reports it: Unix milliseconds (`emittedAtMs`, `startedAtMs`) and
//! seconds (`startedAt`, `createdAt`).

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn now_secs() -> u64 {
    now_ms() / 1000
}
