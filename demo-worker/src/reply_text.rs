//! Deterministic reply text, its split into deltas, and the token arithmetic derived from it.

/// The reply to `input`: the configured text verbatim, or an echo.
pub fn reply_for(configured: Option<&str>, input: &str) -> String {
    match configured {
        Some(text) => text.to_owned(),
        None => {
            let mut reply = String::with_capacity("You said: ".len() + input.len());
            reply.push_str("You said: ");
            reply.push_str(input);
            reply
        }
    }
}

/// Tokens charged for `text`: one per started group of four characters.
pub fn tokens_for(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Splits `text` into `min(pieces, chars)` non-empty pieces of near-equal character counts, on char
/// boundaries; the first `chars % pieces` pieces are one character longer.
pub fn chunks(text: &str, pieces: usize) -> Chunks<'_> {
    let chars = text.chars().count();
    let total = pieces.min(chars);
    Chunks {
        rest: text,
        index: 0,
        total,
        base: chars.checked_div(total).unwrap_or(0),
        longer: chars.checked_rem(total).unwrap_or(0),
    }
}

/// Iterator returned by [`chunks`].
pub struct Chunks<'a> {
    rest: &'a str,
    index: usize,
    total: usize,
    base: usize,
    longer: usize,
}

impl Chunks<'_> {
    /// How many pieces the iterator yields in all.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.index >= self.total {
            return None;
        }
        let len = self.base + usize::from(self.index < self.longer);
        self.index += 1;
        let end = if self.index == self.total {
            self.rest.len()
        } else {
            self.rest
                .char_indices()
                .nth(len)
                .map_or(self.rest.len(), |(at, _)| at)
        };
        let (piece, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, pieces: usize) -> Vec<&str> {
        let iter = chunks(text, pieces);
        let total = iter.total();
        let out: Vec<&str> = iter.collect();
        assert_eq!(out.len(), total);
        out
    }

    #[test]
    fn the_reply_echoes_the_input_unless_configured() {
        assert_eq!(reply_for(None, "hi"), "You said: hi");
        assert_eq!(reply_for(Some("fixed"), "hi"), "fixed");
        assert_eq!(reply_for(Some(""), "hi"), "");
    }

    #[test]
    fn pieces_are_near_equal_and_rejoin_to_the_text() {
        assert_eq!(split("You said: hi", 5), ["You", " sa", "id", ": ", "hi"]);
        assert_eq!(split("abcdef", 3), ["ab", "cd", "ef"]);
        assert_eq!(split("abcdef", 1), ["abcdef"]);
    }

    #[test]
    fn a_short_text_gives_fewer_pieces_and_an_empty_one_none() {
        assert_eq!(split("ab", 5), ["a", "b"]);
        assert!(split("", 5).is_empty());
    }

    #[test]
    fn pieces_end_on_char_boundaries() {
        let text = "héllo wörld ✓ 日本語";
        for pieces in 1..=25 {
            let out = split(text, pieces);
            assert!(out.iter().all(|p| !p.is_empty()));
            assert_eq!(out.concat(), text);
        }
    }

    #[test]
    fn tokens_round_up_per_four_chars() {
        assert_eq!(tokens_for(""), 0);
        assert_eq!(tokens_for("abcd"), 1);
        assert_eq!(tokens_for("abcde"), 2);
        assert_eq!(tokens_for("日本語日本"), 2);
    }
}
