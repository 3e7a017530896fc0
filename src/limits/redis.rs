//! The `redis` backend: per-window counters shared by every replica through one Redis. A
//! check is one Lua script (atomic, one round trip): read the token window, take a
//! concurrency slot (INCR + PEXPIRE), count the request (INCR + PEXPIRE). Tokens are charged
//! with INCRBY + PEXPIRE in one MULTI; a slot is given back with DECR. Slot counters expire
//! `SLOT_TTL` after their last use, the safety net for a replica that died holding slots.
//! Every failure is counted and reported as `Err(())`; the engine applies the outage policy.

use super::{BackendOp, Counts, KeyLimits, LimitKind, LimitMetrics, WINDOW_MS};
use actix::prelude::*;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A concurrency counter outlives its last touch by this much (longer than any request).
const SLOT_TTL_MS: u64 = 15 * 60 * 1000;
/// A window's counters outlive the window (one more minute of slack for clock skew).
const WINDOW_TTL_MS: u64 = 2 * WINDOW_MS;
/// After a failed connect, requests fail at once for this long instead of queueing on it.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

const CHECK: &str = r"
local rpm, tpm, mc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local req = tonumber(redis.call('GET', KEYS[1]) or '0')
local tok = tonumber(redis.call('GET', KEYS[2]) or '0')
if tpm > 0 and tok >= tpm then return {2, req, tok} end
if mc > 0 then
  local c = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
  if c > mc then redis.call('DECR', KEYS[3]); return {3, req, tok} end
end
if rpm > 0 then
  if req >= rpm then
    if mc > 0 then redis.call('DECR', KEYS[3]) end
    return {1, req, tok}
  end
  req = redis.call('INCR', KEYS[1])
  if req == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
end
return {0, req, tok}
";

const RELEASE: &str = r"
local v = redis.call('DECR', KEYS[1])
if v <= 0 then redis.call('DEL', KEYS[1]) end
return v
";

struct Conn {
    manager: Option<ConnectionManager>,
    next_attempt: Option<Instant>,
}

/// The connection, shared by checks (on the request's thread) and the background writes.
#[derive(Clone)]
struct Link {
    client: redis::Client,
    config: Arc<Mutex<Conn>>,
    timeout: Duration,
}

impl Link {
    async fn get(&self) -> Result<ConnectionManager, String> {
        {
            let Ok(mut c) = self.config.lock() else {
                return Err("connection state poisoned".into());
            };
            if let Some(m) = &c.manager {
                return Ok(m.clone());
            }
            if c.next_attempt.is_some_and(|t| Instant::now() < t) {
                return Err("redis unreachable (reconnect pending)".into());
            }
            c.next_attempt = Some(Instant::now() + RECONNECT_PAUSE);
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let m = tokio::time::timeout(
            self.timeout * 2,
            ConnectionManager::new_with_config(self.client.clone(), cfg),
        )
        .await
        .map_err(|_| "redis connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
        if let Ok(mut c) = self.config.lock() {
            c.manager = Some(m.clone());
        }
        Ok(m)
    }

    async fn run<T, F, Fut>(&self, f: F) -> Result<T, String>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.get().await?;
        match tokio::time::timeout(self.timeout, f(conn)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("redis command timed out".into()),
        }
    }
}

/// The handle the engine holds.
pub struct Shared {
    link: Link,
    check: Arc<redis::Script>,
    release: Arc<redis::Script>,
    writes: Addr<Writes>,
    metrics: LimitMetrics,
}

fn keys(key: &str, now: u64) -> [String; 3] {
    let w = now / WINDOW_MS;
    // The hash tag keeps one key's counters on one Redis Cluster slot.
    [
        format!("codexd:limits:{{{key}}}:r:{w}"),
        format!("codexd:limits:{{{key}}}:t:{w}"),
        format!("codexd:limits:{{{key}}}:c"),
    ]
}

fn observe(metrics: &LimitMetrics, op: BackendOp, ok: bool) {
    let up = metrics.backend_up.with_label_values(&["redis"]);
    if ok {
        up.set(1);
    } else {
        up.set(0);
        metrics
            .backend_errors
            .with_label_values(&["redis", op.as_str()])
            .inc();
    }
}

impl Shared {
    /// Parses the URL (no connection yet: the daemon starts while Redis is down).
    pub fn new(url: &str, timeout: Duration, metrics: LimitMetrics) -> Result<Shared, String> {
        let client = redis::Client::open(url).map_err(|e| format!("limits.redis_url: {e}"))?;
        let link = Link {
            client,
            config: Arc::new(Mutex::new(Conn {
                manager: None,
                next_attempt: None,
            })),
            timeout,
        };
        let writes = Writes {
            link: link.clone(),
            metrics: metrics.clone(),
        }
        .start();
        Ok(Shared {
            link,
            check: Arc::new(redis::Script::new(CHECK)),
            release: Arc::new(redis::Script::new(RELEASE)),
            writes,
            metrics,
        })
    }

    pub async fn check(&self, key: &str, l: &KeyLimits, now: u64) -> Result<Counts, ()> {
        let [r, t, c] = keys(key, now);
        let script = self.check.clone();
        let arg = |v: Option<u32>| v.unwrap_or(0);
        let (rpm, tpm, mc) = (
            arg(l.requests_per_minute),
            arg(l.tokens_per_minute),
            arg(l.max_concurrent),
        );
        let res: Result<(u8, u64, u64), String> = self
            .link
            .run(|mut conn| async move {
                script
                    .key(r)
                    .key(t)
                    .key(c)
                    .arg(rpm)
                    .arg(tpm)
                    .arg(mc)
                    .arg(WINDOW_TTL_MS)
                    .arg(SLOT_TTL_MS)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        observe(&self.metrics, BackendOp::Check, res.is_ok());
        let (verdict, requests, tokens) = res.map_err(|_| ())?;
        Ok(Counts {
            requests,
            tokens,
            rejected: match verdict {
                0 => None,
                1 => Some(LimitKind::Requests),
                2 => Some(LimitKind::Tokens),
                _ => Some(LimitKind::Concurrency),
            },
        })
    }

    pub fn charge(&self, key: &str, tokens: u64, now: u64) {
        let [_, t, _] = keys(key, now);
        self.writes.do_send(Write::Charge { key: t, tokens });
    }

    pub fn release(&self, key: &str) {
        let [_, _, c] = keys(key, 0);
        self.writes.do_send(Write::Release {
            key: c,
            script: self.release.clone(),
        });
    }
}

/// The writes nobody waits for (token charges, slot releases), run by their owning actor.
struct Writes {
    link: Link,
    metrics: LimitMetrics,
}

impl Actor for Writes {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
enum Write {
    Charge {
        key: String,
        tokens: u64,
    },
    Release {
        key: String,
        script: Arc<redis::Script>,
    },
}

impl Handler<Write> for Writes {
    type Result = ();
    fn handle(&mut self, msg: Write, ctx: &mut Self::Context) {
        let link = self.link.clone();
        let metrics = self.metrics.clone();
        let fut = async move {
            let (op, res) = match msg {
                Write::Charge { key, tokens } => (
                    BackendOp::Charge,
                    link.run(|mut conn| async move {
                        redis::pipe()
                            .atomic()
                            .incr(&key, tokens)
                            .ignore()
                            .pexpire(&key, WINDOW_TTL_MS as i64)
                            .ignore()
                            .query_async::<()>(&mut conn)
                            .await
                    })
                    .await,
                ),
                Write::Release { key, script } => (
                    BackendOp::Release,
                    link.run(|mut conn| async move {
                        script
                            .key(key)
                            .invoke_async::<i64>(&mut conn)
                            .await
                            .map(drop)
                    })
                    .await,
                ),
            };
            observe(&metrics, op, res.is_ok());
        };
        ctx.spawn(fut.into_actor(self));
    }
}
