//! Decoding what an OTLP/HTTP receiver got: the mock provider records `POST /v1/traces`
//! bodies; these helpers decode them with the standard protobuf messages.

use crate::mock_provider::MockProvider;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;

/// One received span with its service name.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service: String,
    pub name: String,
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: Vec<KeyValue>,
    pub status_code: i32,
    /// `(trace_id, span_id)` of each link.
    pub links: Vec<(String, String)>,
}

impl ReceivedSpan {
    pub fn attr(&self, key: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
            .map(|v| match v {
                AnyValue::StringValue(s) => s.clone(),
                AnyValue::IntValue(i) => i.to_string(),
                AnyValue::DoubleValue(d) => d.to_string(),
                AnyValue::BoolValue(b) => b.to_string(),
                AnyValue::ArrayValue(a) => format!(
                    "{:?}",
                    a.values
                        .iter()
                        .filter_map(|v| v.value.clone())
                        .collect::<Vec<_>>()
                ),
                other => format!("{other:?}"),
            })
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every span received so far at `/v1/traces`.
pub fn spans(receiver: &MockProvider) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for req in receiver.requests_to("/v1/traces") {
        let msg = ExportTraceServiceRequest::decode(req.raw_body.as_slice())
            .expect("valid OTLP protobuf");
        for rs in msg.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(AnyValue::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    out.push(ReceivedSpan {
                        service: service.clone(),
                        name: s.name,
                        kind: s.kind,
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        attributes: s.attributes,
                        status_code: s.status.map(|st| st.code).unwrap_or(0),
                        links: s
                            .links
                            .iter()
                            .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                            .collect(),
                    });
                }
            }
        }
    }
    out
}
