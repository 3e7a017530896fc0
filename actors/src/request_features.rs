//! The closed facts about which request features a turn used, for the `chat {model}` span:
//! whether it had a structured output, how many images, whether the client named a reasoning
//! effort and which effort the turn ran with (one of Codex's known efforts, else `other`; it
//! may be the catalogue entry's default), a reasoning summary, stop sequences, encrypted
//! reasoning, client tools. Never a schema, an image, a tool name or any content.

use crate::turn::TurnRequest;
use crate::worker::models::KNOWN_EFFORTS;

/// What a request used beyond text; every value is from a closed set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureFacts {
    pub structured_output: bool,
    pub images: usize,
    /// The client named an effort (the `reasoning_effort` feature, as the metric counts it).
    pub effort_requested: bool,
    /// The turn's effort: one of [`KNOWN_EFFORTS`], or `other`.
    pub reasoning_effort: Option<&'static str>,
    pub reasoning_summary: bool,
    pub stop: bool,
    pub reasoning_encrypted: bool,
    pub tools: bool,
}

impl FeatureFacts {
    pub fn of(r: &TurnRequest) -> Self {
        let f = &r.features;
        Self {
            structured_output: f.output_schema.is_some(),
            images: f.images.len(),
            effort_requested: f.effort_requested,
            reasoning_effort: r.reasoning_effort.as_deref().map(|e| {
                KNOWN_EFFORTS
                    .iter()
                    .copied()
                    .find(|k| *k == e)
                    .unwrap_or("other")
            }),
            reasoning_summary: f.reasoning_summary.as_deref().is_some_and(|s| s != "none"),
            stop: !f.stop.is_empty(),
            reasoning_encrypted: f.include_encrypted,
            tools: !r.tools.tools.is_empty(),
        }
    }

    /// The features used, as the closed names of the span's `codexd.features` attribute.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.structured_output, "structured_output"),
            (self.images > 0, "image"),
            (self.effort_requested, "reasoning_effort"),
            (self.reasoning_summary, "reasoning_summary"),
            (self.stop, "stop"),
            (self.reasoning_encrypted, "reasoning_encrypted"),
            (self.tools, "tools"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_flags_and_efforts_stay_closed() {
        assert!(FeatureFacts::default().names().is_empty());
        let f = FeatureFacts {
            images: 2,
            effort_requested: true,
            reasoning_effort: Some("low"),
            reasoning_encrypted: true,
            ..FeatureFacts::default()
        };
        assert_eq!(
            f.names(),
            ["image", "reasoning_effort", "reasoning_encrypted"]
        );
    }
}
