//! Splitting the client's byte stream into lines, copying only a line cut across reads.

/// Bytes asked for per read; a burst of small lines arrives in one buffer.
pub const READ_SIZE: usize = 64 * 1024;

/// Splits a byte stream into lines (without the `\n`), copying only a line cut across reads.
#[derive(Default)]
pub struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    pub fn feed(&mut self, mut chunk: &[u8], mut each: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.partial.extend_from_slice(&chunk[..end]);
                    each(&self.partial);
                    self.partial.clear();
                    chunk = &chunk[end + 1..];
                }
                None => {
                    self.partial.extend_from_slice(chunk);
                    return;
                }
            }
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            each(&chunk[..end]);
            chunk = &chunk[end + 1..];
        }
        self.partial.extend_from_slice(chunk);
    }

    /// The unterminated last line at EOF, if any.
    pub fn finish(&mut self) -> Option<&[u8]> {
        (!self.partial.is_empty()).then_some(self.partial.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> Vec<String> {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for chunk in chunks {
            lines.feed(chunk.as_bytes(), |l| {
                out.push(String::from_utf8_lossy(l).into_owned())
            });
        }
        if let Some(rest) = lines.finish() {
            out.push(format!("EOF:{}", String::from_utf8_lossy(rest)));
        }
        out
    }

    #[test]
    fn lines_are_rejoined_across_reads() {
        assert_eq!(
            run(&["a\nb", "c\n", "d\n\ne"]),
            ["a", "bc", "d", "", "EOF:e"]
        );
        assert_eq!(run(&["ab", "cd", "ef\n"]), ["abcdef"]);
        assert_eq!(run(&["x\n"]), ["x"]);
    }
}
