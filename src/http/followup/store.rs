//! The bounded in-memory store behind `previous_response_id`: each Responses answer's
//! conversation (the request's history, the assistant's text and calls), kept for a TTL and
//! at most `tools.response_store_size` entries (oldest evicted first). It does not survive a
//! restart and is not shared between replicas: a client that sends its full input instead
//! is served by replay wherever it lands.

use crate::http::openai::history::History;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (Instant, History)>,
    order: VecDeque<String>,
}

pub struct ResponseStore {
    inner: Mutex<Inner>,
    capacity: usize,
    ttl: Duration,
}

impl ResponseStore {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            inner: Mutex::default(),
            capacity,
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, id: String, history: History) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        while inner.order.len() >= self.capacity {
            match inner.order.pop_front() {
                Some(old) => {
                    inner.entries.remove(&old);
                }
                None => break,
            }
        }
        inner.order.push_back(id.clone());
        inner.entries.insert(id, (Instant::now(), history));
    }

    /// The stored conversation, unless it is unknown or older than the TTL.
    pub fn get(&self, id: &str) -> Option<History> {
        let inner = self.lock();
        let (at, h) = inner.entries.get(id)?;
        (at.elapsed() <= self.ttl).then(|| h.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_bounded_and_forgets_the_oldest() {
        let s = ResponseStore::new(2, Duration::from_secs(60));
        for id in ["a", "b", "c"] {
            s.insert(id.into(), History::default());
        }
        assert!(s.get("a").is_none());
        assert!(s.get("b").is_some() && s.get("c").is_some());
        let expired = ResponseStore::new(2, Duration::ZERO);
        expired.insert("a".into(), History::default());
        std::thread::sleep(Duration::from_millis(2));
        assert!(expired.get("a").is_none());
    }
}
