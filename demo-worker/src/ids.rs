//! The worker's deterministic ids (`thr_3`, `turn_3`, `msg_3`, …): their prefixes, writing and
//! reading them back.

use serde::{Serialize, Serializer};

/// A deterministic id such as `thr_3`, written without allocating.
#[derive(Clone, Copy)]
pub struct Tagged(pub &'static str, pub u64);

impl Serialize for Tagged {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}_{}", self.0, self.1))
    }
}

pub const THREAD: &str = "thr";
pub const TURN: &str = "turn";
pub const MESSAGE: &str = "msg";
pub const USER_MESSAGE: &str = "umsg";
pub const CALL: &str = "call";

/// Reads back an id written by [`Tagged`].
pub fn parse_tagged(text: &str, prefix: &str) -> Option<u64> {
    text.strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()
}
