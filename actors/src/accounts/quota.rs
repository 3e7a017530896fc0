//! An account's usage windows as Codex reports them: the `rateLimits` snapshot of an
//! `account/rateLimits/read` answer and of the sparse `account/rateLimits/updated`
//! notifications (0.171 shapes, fixture in `tests/fixtures/codex-0.171-rate-limits.json`),
//! merged into what codexd knows. Unknown stays unknown: a field a snapshot leaves out or
//! sets to `null` never clears what an earlier one said.

use crate::label_enum;
use serde::Deserialize;
use serde_json::Value;

label_enum!(
    /// Codex's two usage windows: `primary` (the short one, 5 hours on ChatGPT plans) and
    /// `secondary` (weekly).
    QuotaWindow {
        Primary => "primary",
        Secondary => "secondary",
    }
);

/// One window as the worker reports it (`RateLimitWindow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowReport {
    pub used_percent: Option<f64>,
    pub window_duration_mins: Option<u64>,
    pub resets_at: Option<i64>,
}

/// A `RateLimitSnapshot` (only the windows are read; credits, plan and ids are skipped, so
/// nothing identifying the account is ever materialised).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SnapshotReport {
    pub primary: Option<WindowReport>,
    pub secondary: Option<WindowReport>,
}

impl SnapshotReport {
    /// `result.rateLimits` of `account/rateLimits/read`, or `params.rateLimits` of
    /// `account/rateLimits/updated`; `None` when absent or of another shape.
    pub fn from_container(v: &Value) -> Option<SnapshotReport> {
        let snapshot = v.get("rateLimits")?;
        serde_json::from_value(snapshot.clone()).ok()
    }

    pub fn window(&self, w: QuotaWindow) -> Option<&WindowReport> {
        match w {
            QuotaWindow::Primary => self.primary.as_ref(),
            QuotaWindow::Secondary => self.secondary.as_ref(),
        }
    }
}

/// What codexd knows about one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowState {
    /// 0–1.
    pub used_ratio: Option<f64>,
    pub window_s: Option<u64>,
    /// Unix seconds.
    pub resets_at: Option<i64>,
}

impl WindowState {
    /// Merges a report: present values replace, missing ones keep. True when anything moved.
    pub fn merge(&mut self, r: &WindowReport) -> bool {
        let before = *self;
        if let Some(p) = r.used_percent {
            self.used_ratio = Some((p / 100.0).clamp(0.0, 1.0));
        }
        if let Some(m) = r.window_duration_mins {
            self.window_s = Some(m * 60);
        }
        if let Some(at) = r.resets_at {
            self.resets_at = Some(at);
        }
        *self != before
    }

    /// Exhausted and not reset yet at `now` (Unix seconds).
    pub fn exhausted_at(&self, now: i64) -> Option<i64> {
        match (self.used_ratio, self.resets_at) {
            (Some(u), Some(at)) if u >= 1.0 && at > now => Some(at),
            _ => None,
        }
    }
}

/// Both windows of one account.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quota {
    pub primary: WindowState,
    pub secondary: WindowState,
}

impl Quota {
    pub fn window(&self, w: QuotaWindow) -> &WindowState {
        match w {
            QuotaWindow::Primary => &self.primary,
            QuotaWindow::Secondary => &self.secondary,
        }
    }

    fn window_mut(&mut self, w: QuotaWindow) -> &mut WindowState {
        match w {
            QuotaWindow::Primary => &mut self.primary,
            QuotaWindow::Secondary => &mut self.secondary,
        }
    }

    /// Merges a snapshot; returns the windows that moved.
    pub fn merge(&mut self, s: &SnapshotReport) -> Vec<QuotaWindow> {
        QuotaWindow::ALL
            .iter()
            .copied()
            .filter(|w| match s.window(*w) {
                Some(r) => self.window_mut(*w).merge(r),
                None => false,
            })
            .collect()
    }

    /// When the account can serve again if a window is used up: the latest reset among the
    /// exhausted windows.
    pub fn exhausted_until(&self, now: i64) -> Option<i64> {
        QuotaWindow::ALL
            .iter()
            .filter_map(|w| self.window(*w).exhausted_at(now))
            .max()
    }

    /// The soonest known reset still ahead of `now`, whatever the usage.
    pub fn next_reset(&self, now: i64) -> Option<i64> {
        QuotaWindow::ALL
            .iter()
            .filter_map(|w| self.window(*w).resets_at)
            .filter(|at| *at > now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sparse_update_merges_and_never_clears() {
        let read = json!({"rateLimits": {"primary": {"usedPercent": 42, "windowDurationMins": 300,
            "resetsAt": 1_900_000_000}, "secondary": {"usedPercent": 10, "windowDurationMins": 10080,
            "resetsAt": null}, "planType": "plus", "limitId": "codex"}});
        let mut q = Quota::default();
        let s = SnapshotReport::from_container(&read).unwrap();
        assert_eq!(
            q.merge(&s),
            vec![QuotaWindow::Primary, QuotaWindow::Secondary]
        );
        let update = json!({"rateLimits": {"primary": {"usedPercent": 96}}});
        let moved = q.merge(&SnapshotReport::from_container(&update).unwrap());
        assert_eq!(moved, vec![QuotaWindow::Primary]);
        assert_eq!(q.primary.used_ratio, Some(0.96));
        assert_eq!(q.primary.window_s, Some(300 * 60));
        assert_eq!(q.primary.resets_at, Some(1_900_000_000));
        assert_eq!(q.secondary.used_ratio, Some(0.1));
        assert_eq!(q.secondary.resets_at, None);
    }

    #[test]
    fn exhaustion_lasts_until_the_latest_exhausted_reset() {
        let mut q = Quota::default();
        q.primary.merge(&WindowReport {
            used_percent: Some(100.0),
            window_duration_mins: None,
            resets_at: Some(200),
        });
        q.secondary.merge(&WindowReport {
            used_percent: Some(30.0),
            window_duration_mins: None,
            resets_at: Some(900),
        });
        assert_eq!(q.exhausted_until(100), Some(200));
        assert_eq!(q.exhausted_until(200), None);
        assert_eq!(q.next_reset(100), Some(200));
    }
}
