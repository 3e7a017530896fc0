//! OpenTelemetry tracing: resolves the exporter settings from `[tracing]` and the standard
//! `OTEL_*` variables, and starts the span recorder (a bus subscriber) with its OTLP/HTTP
//! exporter. Off unless an endpoint is configured.

pub mod export;
pub mod recorder;
pub mod sampling;

use crate::config::Tracing;
use std::collections::BTreeMap;
use std::time::Duration;

/// Resolved exporter settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// The full OTLP/HTTP traces URL (`.../v1/traces`).
    pub url: String,
    pub service_name: String,
    pub resource: BTreeMap<String, String>,
    pub sample_ratio: f64,
    pub queue_size: usize,
    pub export_timeout: Duration,
}

fn traces_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Combines the config with `OTEL_*` variables (which win, as the OpenTelemetry spec says).
/// `None` means tracing export is off; the sample ratio still applies to ids in the logs.
pub fn resolve(cfg: &Tracing, env: &BTreeMap<String, String>) -> (Option<TraceSettings>, f64) {
    let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut ratio = cfg.sample_ratio;
    match get("OTEL_TRACES_SAMPLER") {
        Some("always_on" | "parentbased_always_on") => ratio = 1.0,
        Some("always_off" | "parentbased_always_off") => ratio = 0.0,
        Some("traceidratio" | "parentbased_traceidratio") => {
            if let Some(r) = get("OTEL_TRACES_SAMPLER_ARG").and_then(|a| a.parse::<f64>().ok()) {
                ratio = r.clamp(0.0, 1.0);
            }
        }
        _ => {}
    }
    if get("OTEL_SDK_DISABLED") == Some("true") {
        return (None, ratio);
    }
    let url = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .map(str::to_owned)
        .or_else(|| get("OTEL_EXPORTER_OTLP_ENDPOINT").map(traces_url))
        .or_else(|| (!cfg.endpoint.is_empty()).then(|| traces_url(&cfg.endpoint)));
    let Some(url) = url else { return (None, ratio) };
    let mut resource = BTreeMap::new();
    if let Some(attrs) = get("OTEL_RESOURCE_ATTRIBUTES") {
        for pair in attrs.split(',') {
            if let Some((k, v)) = pair.split_once('=') {
                resource.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
    }
    let service_name = get("OTEL_SERVICE_NAME")
        .map(str::to_owned)
        .or_else(|| resource.get("service.name").cloned())
        .unwrap_or_else(|| cfg.service_name.clone());
    let settings = TraceSettings {
        url,
        service_name,
        resource,
        sample_ratio: ratio,
        queue_size: cfg.queue_size.max(1) as usize,
        export_timeout: Duration::from_millis(cfg.export_timeout_ms.max(1)),
    };
    (Some(settings), ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn export_is_off_without_an_endpoint() {
        let (s, ratio) = resolve(&Tracing::default(), &env(&[]));
        assert_eq!((s, ratio), (None, 1.0));
    }

    #[test]
    fn otel_variables_override_the_config() {
        let cfg = Tracing {
            endpoint: "http://cfg:4318".into(),
            ..Tracing::default()
        };
        let (s, _) = resolve(&cfg, &env(&[]));
        assert_eq!(s.unwrap().url, "http://cfg:4318/v1/traces");
        let (s, ratio) = resolve(
            &cfg,
            &env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/"),
                ("OTEL_SERVICE_NAME", "svc"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment=prod, team=ai",
                ),
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ]),
        );
        let s = s.unwrap();
        assert_eq!(s.url, "http://base:4318/v1/traces");
        assert_eq!(s.service_name, "svc");
        assert_eq!(s.resource.get("team").map(String::as_str), Some("ai"));
        assert_eq!(ratio, 0.25);
        let (s, _) = resolve(
            &cfg,
            &env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom")]),
        );
        assert_eq!(s.unwrap().url, "http://t:1/custom");
        let (s, _) = resolve(&cfg, &env(&[("OTEL_SDK_DISABLED", "true")]));
        assert!(s.is_none());
    }
}
