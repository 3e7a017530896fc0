//! Restart policy as data: jittered exponential backoff, reset after a stable uptime, and a
//! restart-intensity window that moves a slot to `failed`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A validated restart policy.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    stable_after: Duration,
    max_restarts: u32,
    window: Duration,
    jitter: bool,
}

/// Why a policy was rejected; names the config key that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub key: &'static str,
    pub reason: &'static str,
}

impl BackoffPolicy {
    /// Builds a policy, checking every field and their relations.
    pub fn try_new(
        initial: Duration,
        max: Duration,
        multiplier: f64,
        stable_after: Duration,
        max_restarts: u32,
        window: Duration,
    ) -> Result<Self, PolicyError> {
        let err = |key, reason| Err(PolicyError { key, reason });
        if initial.is_zero() {
            return err("initial_ms", "must be greater than 0");
        }
        if max < initial {
            return err("max_ms", "must be at least initial_ms");
        }
        if !(1.0..=16.0).contains(&multiplier) {
            return err("multiplier", "must be between 1.0 and 16.0");
        }
        if max_restarts == 0 {
            return err("max_restarts", "must be at least 1");
        }
        if window.is_zero() {
            return err("window_ms", "must be greater than 0");
        }
        Ok(Self {
            initial,
            max,
            multiplier,
            stable_after,
            max_restarts,
            window,
            jitter: true,
        })
    }

    /// Turns jitter off (delays are then exactly the ceilings): for tests and operators who
    /// want predictable restarts.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The ceiling for the `attempt`-th consecutive restart (0-based), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.min(64) as i32);
        let secs = self.initial.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// The delay for the `attempt`-th restart with full jitter over `[initial, ceiling]`;
    /// `unit` is a uniform sample from `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let span = ceiling.saturating_sub(self.initial).as_secs_f64();
        if !self.jitter {
            return ceiling;
        }
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        (self.initial + Duration::from_secs_f64(span * unit)).min(self.max)
    }

    /// Whether a worker that ran for `uptime` has earned a backoff reset.
    pub fn is_stable(&self, uptime: Duration) -> bool {
        uptime >= self.stable_after
    }

    pub fn initial(&self) -> Duration {
        self.initial
    }
    pub fn max(&self) -> Duration {
        self.max
    }
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// Restarts seen within the sliding intensity window.
#[derive(Debug, Default, Clone)]
pub struct RestartWindow {
    restarts: VecDeque<Instant>,
}

impl RestartWindow {
    /// Records a restart at `now`; returns false once the intensity limit is exceeded.
    pub fn admit(&mut self, policy: &BackoffPolicy, now: Instant) -> bool {
        while let Some(first) = self.restarts.front() {
            if now.saturating_duration_since(*first) > policy.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.len() as u32 >= policy.max_restarts {
            return false;
        }
        self.restarts.push_back(now);
        true
    }

    /// Forgets the history (after a failed slot is retried).
    pub fn clear(&mut self) {
        self.restarts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BackoffPolicy {
        BackoffPolicy::try_new(
            Duration::from_millis(100),
            Duration::from_secs(5),
            2.0,
            Duration::from_secs(30),
            5,
            Duration::from_secs(60),
        )
        .unwrap()
    }

    #[test]
    fn delays_always_stay_within_initial_and_max() {
        let p = policy();
        let mut rng = fastrand::Rng::with_seed(7);
        for attempt in 0..200 {
            for _ in 0..50 {
                let d = p.delay(attempt, rng.f64());
                assert!(d >= p.initial() && d <= p.max(), "attempt {attempt}: {d:?}");
                assert!(d <= p.ceiling(attempt));
            }
        }
        assert_eq!(p.delay(3, f64::NAN), p.initial());
        assert_eq!(p.delay(3, 7.0), p.ceiling(3));
    }

    #[test]
    fn ceilings_grow_by_the_multiplier_until_max() {
        let p = policy();
        assert_eq!(p.ceiling(0), Duration::from_millis(100));
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(800));
        assert_eq!(p.ceiling(10), Duration::from_secs(5));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn restarts_stop_once_the_intensity_limit_is_reached() {
        let p = policy();
        let mut w = RestartWindow::default();
        let t0 = Instant::now();
        let admitted = (0..10)
            .filter(|i| w.admit(&p, t0 + Duration::from_millis(i * 10)))
            .count();
        assert_eq!(admitted, 5);
        // Outside the window the history has aged out.
        assert!(w.admit(&p, t0 + Duration::from_secs(61)));
    }

    #[test]
    fn invalid_policies_name_their_key() {
        let e = BackoffPolicy::try_new(
            Duration::from_millis(500),
            Duration::from_millis(100),
            2.0,
            Duration::ZERO,
            1,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(e.key, "max_ms");
        let e = BackoffPolicy::try_new(
            Duration::ZERO,
            Duration::ZERO,
            2.0,
            Duration::ZERO,
            1,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(e.key, "initial_ms");
    }

    #[test]
    fn without_jitter_delays_are_the_ceilings() {
        let p = policy().without_jitter();
        let delays: Vec<u64> = (0..4).map(|a| p.delay(a, 0.3).as_millis() as u64).collect();
        assert_eq!(delays, vec![100, 200, 400, 800]);
    }

    #[test]
    fn stability_resets_after_the_configured_uptime() {
        let p = policy();
        assert!(!p.is_stable(Duration::from_secs(29)));
        assert!(p.is_stable(Duration::from_secs(30)));
    }
}
