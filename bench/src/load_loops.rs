//! Load generation: one request's timeline (HTTP through awc, or a direct turn), the
//! closed-loop runner (c lanes back to back) and the open-loop runner (a fixed arrival rate,
//! latency counted from each request's scheduled send time, so queueing is never hidden).

use codexd_test_support::latency_hist::Hist;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

/// What one request saw.
pub struct Outcome {
    pub ok: bool,
    /// Arrival of each content-bearing frame (or worker delta), in order.
    pub content: Vec<Instant>,
    pub end: Instant,
    pub error: Option<String>,
}

impl Outcome {
    pub fn failed(error: String) -> Self {
        Self {
            ok: false,
            content: Vec::new(),
            end: Instant::now(),
            error: Some(error),
        }
    }
}

/// Everything recorded over one run.
#[derive(Default)]
pub struct Recorder {
    pub latency: Hist,
    pub ttfc: Hist,
    pub gaps: Hist,
    pub ok: u64,
    /// Answered 429 by admission (queue full): the daemon shedding load, not failing.
    pub rejected: u64,
    pub errors: u64,
    /// Open loop: arrivals not sent because too many requests were outstanding.
    pub shed: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Recorder {
    fn add(&mut self, start: Instant, o: Outcome) {
        if !o.ok {
            if o.error
                .as_deref()
                .is_some_and(|e| e.starts_with("status 429"))
            {
                self.rejected += 1;
                return;
            }
            self.errors += 1;
            if self.first_error.is_none() {
                self.first_error = o.error;
            }
            return;
        }
        self.ok += 1;
        self.latency.record(o.end.saturating_duration_since(start));
        if let Some(first) = o.content.first() {
            self.ttfc.record(first.saturating_duration_since(start));
        }
        for w in o.content.windows(2) {
            self.gaps.record(w[1].saturating_duration_since(w[0]));
        }
    }

    /// Completed requests per second over the run.
    pub fn throughput(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }
}

/// `concurrency` lanes each send a request as soon as their previous one finished, until
/// `duration` has passed; requests in flight then finish and count.
pub async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, f: F) -> Recorder
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let rec = RefCell::new(Recorder::default());
    let started = Instant::now();
    let end = started + duration;
    let lanes = (0..concurrency).map(|lane| {
        let (f, rec) = (&f, &rec);
        async move {
            while Instant::now() < end {
                let t0 = Instant::now();
                let o = f(lane).await;
                rec.borrow_mut().add(t0, o);
            }
        }
    });
    futures_util::future::join_all(lanes).await;
    let mut rec = rec.into_inner();
    rec.elapsed = started.elapsed();
    rec
}

/// Sends `rate` requests per second for `duration` whatever the responses do. Latency runs
/// from the scheduled send time, so a late send (a busy generator, a full connection pool)
/// counts against the system rather than disappearing. At most `max_outstanding` requests are
/// in flight; further arrivals are shed and counted.
pub async fn open_loop<F, Fut>(
    rate: f64,
    duration: Duration,
    max_outstanding: usize,
    f: F,
) -> Recorder
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut rec = Recorder::default();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let started = Instant::now();
    let due = |i: usize| started + interval.mul_f64(i as f64);
    let mut inflight = FuturesUnordered::new();
    let mut next = 0usize;
    loop {
        let now = Instant::now();
        while next < total && due(next) <= now {
            if inflight.len() < max_outstanding {
                let scheduled = due(next);
                let fut = f(next);
                inflight.push(async move { (scheduled, fut.await) });
            } else {
                rec.shed += 1;
            }
            next += 1;
        }
        if next >= total && inflight.is_empty() {
            break;
        }
        let wake = actix_rt::time::sleep_until(due(next.min(total)).into());
        tokio::select! {
            biased;
            Some((scheduled, o)) = inflight.next(), if !inflight.is_empty() => rec.add(scheduled, o),
            _ = wake, if next < total => {}
        }
    }
    rec.elapsed = started.elapsed();
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ok_after(d: Duration) -> Outcome {
        actix_rt::time::sleep(d).await;
        let now = Instant::now();
        Outcome {
            ok: true,
            content: vec![now, now],
            end: now,
            error: None,
        }
    }

    #[actix_rt::test]
    async fn closed_loop_runs_every_lane() {
        let rec = closed_loop(4, Duration::from_millis(50), |_| {
            ok_after(Duration::from_millis(5))
        })
        .await;
        assert!(rec.ok >= 4 * 8, "{}", rec.ok);
        assert_eq!(rec.errors, 0);
        assert_eq!(rec.gaps.count(), rec.ok);
    }

    #[actix_rt::test]
    async fn open_loop_counts_from_the_schedule() {
        // 200/s for 100 ms against a 30 ms service: 20 arrivals, none shed.
        let rec = open_loop(200.0, Duration::from_millis(100), 100, |_| {
            ok_after(Duration::from_millis(30))
        })
        .await;
        assert_eq!(rec.ok, 20);
        assert!(rec.latency.summary().p50_us >= 30_000.0);
    }

    #[actix_rt::test]
    async fn open_loop_sheds_beyond_the_outstanding_cap() {
        let rec = open_loop(1000.0, Duration::from_millis(50), 5, |_| {
            ok_after(Duration::from_millis(200))
        })
        .await;
        assert_eq!(rec.ok, 5);
        assert_eq!(rec.shed, 45);
    }
}
