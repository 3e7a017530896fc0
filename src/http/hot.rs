//! Metric handles the request path resolves once per HTTP worker thread instead of once per
//! request (`with_label_values` hashes the labels and takes the family's lock each time).
//! Their label values are closed sets known at startup: the route table, and the models of
//! the catalogue. A series is still created when it was before: the in-flight gauges of the
//! API routes exist from startup (the metrics collector sets them to zero), a chunk-gap
//! histogram on its route's and model's first request.

use super::routes::Route;
use super::state::AppState;
use codexd_actors::metrics::MetricsHandles;
use prometheus::{Histogram, IntGauge};
use std::cell::RefCell;

/// One worker thread's handles (in the app data as `Rc<Hot>`).
pub struct Hot {
    /// `codexd_http_requests_in_flight`, per `Route::ALL` index; `None` for probe routes.
    in_flight: Vec<Option<IntGauge>>,
    /// `codexd_stream_time_per_output_chunk_seconds` per (route, model index), on first use.
    chunk_gap: RefCell<Vec<Option<Histogram>>>,
    models: usize,
    handles: MetricsHandles,
}

impl Hot {
    pub fn new(state: &AppState) -> Self {
        let handles = state.metrics.clone();
        let in_flight = Route::ALL
            .iter()
            .map(|r| {
                (!r.is_operational())
                    .then(|| handles.requests_in_flight.with_label_values(&[r.as_str()]))
            })
            .collect();
        let models = state.api.models.len();
        Self {
            in_flight,
            chunk_gap: RefCell::new(vec![None; Route::ALL.len() * models]),
            models,
            handles,
        }
    }

    /// The in-flight gauge of an API route (`None` for probe routes, never counted).
    pub fn in_flight(&self, route: Route) -> Option<&IntGauge> {
        let i = Route::ALL.iter().position(|r| *r == route)?;
        self.in_flight.get(i)?.as_ref()
    }

    /// The chunk-gap histogram of `route` and the catalogue's model `model` (its index).
    pub fn chunk_gap(&self, route: Route, model: usize, model_id: &str) -> Histogram {
        let slot = Route::ALL
            .iter()
            .position(|r| *r == route)
            .filter(|_| model < self.models)
            .map(|r| r * self.models + model);
        let resolve = || {
            self.handles
                .chunk_gap
                .with_label_values(&[route.as_str(), model_id])
        };
        let Some(slot) = slot else {
            return resolve();
        };
        let mut cache = self.chunk_gap.borrow_mut();
        match cache.get_mut(slot) {
            Some(Some(h)) => h.clone(),
            Some(entry) => entry.insert(resolve()).clone(),
            None => resolve(),
        }
    }
}
