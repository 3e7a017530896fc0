//! Stop sequences, emulated: Codex has no `stop` field, so the stream watches the generated
//! text, holds back any tail that could still become a stop sequence, and reports the first
//! match. The stream then emits the text before it, interrupts the turn and ends the
//! answer as completed (`finish_reason: "stop"`).

/// Watches one stream's text for its stop sequences.
#[derive(Debug, Clone)]
pub struct StopMatcher {
    stops: Vec<String>,
    held: String,
    hit: bool,
}

impl StopMatcher {
    /// A matcher for the non-empty `stops`, or `None` when there is nothing to watch.
    pub fn new(stops: &[String]) -> Option<Self> {
        let stops: Vec<String> = stops.iter().filter(|s| !s.is_empty()).cloned().collect();
        (!stops.is_empty()).then_some(Self {
            stops,
            held: String::new(),
            hit: false,
        })
    }

    /// Feeds one delta: the text that can go out now, and whether a stop sequence matched
    /// (nothing more may go out after it).
    pub fn feed(&mut self, delta: &str) -> (String, bool) {
        if self.hit {
            return (String::new(), true);
        }
        self.held.push_str(delta);
        let first = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = first {
            self.hit = true;
            let mut out = std::mem::take(&mut self.held);
            out.truncate(at);
            return (out, true);
        }
        // Hold back the longest tail that is a prefix of some stop sequence.
        let keep_from = self
            .held
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| {
                let tail = &self.held[i..];
                self.stops.iter().any(|s| s.starts_with(tail))
            })
            .unwrap_or(self.held.len());
        let rest = self.held.split_off(keep_from);
        let out = std::mem::replace(&mut self.held, rest);
        (out, false)
    }

    /// The held-back text once the turn completed without a match.
    pub fn flush(&mut self) -> String {
        if self.hit {
            return String::new();
        }
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], deltas: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| (*s).to_owned()).collect();
        let mut m = StopMatcher::new(&stops).unwrap();
        let mut out = String::new();
        for d in deltas {
            let (t, hit) = m.feed(d);
            out.push_str(&t);
            if hit {
                return (out, true);
            }
        }
        out.push_str(&m.flush());
        (out, false)
    }

    #[test]
    fn a_stop_split_across_deltas_is_found_and_trimmed() {
        assert_eq!(
            run(&["END"], &["one two E", "N", "D three"]),
            ("one two ".into(), true)
        );
        assert_eq!(
            run(&["\n\n", "x"], &["ab", "\n", "\nc"]),
            ("ab".into(), true)
        );
        assert_eq!(run(&["zz", "b"], &["abc"]), ("a".into(), true));
    }

    #[test]
    fn a_near_miss_is_released_and_no_stop_keeps_everything() {
        assert_eq!(run(&["END"], &["EN", "d ✓ E"]), ("ENd ✓ E".into(), false));
        assert_eq!(run(&["日本"], &["日", "x日"]), ("日x日".into(), false));
        assert!(StopMatcher::new(&[String::new()]).is_none());
    }
}
