//! Bounded line framing for a worker's stdout: a line longer than the bound is discarded up
//! to its newline and reported, never buffered without limit.

use futures_util::Stream;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One framed read.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Line(Vec<u8>),
    /// A line over the bound; carries its length in bytes.
    TooLong(u64),
}

/// Reads newline-terminated lines of at most `max` bytes.
pub struct LineReader<R> {
    inner: R,
    max: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self { inner, max }
    }

    /// The next frame, or `None` at end of input (or on a read error).
    pub async fn next_frame(&mut self) -> Option<Frame> {
        let mut buf = Vec::new();
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let avail = match self.inner.fill_buf().await {
                Ok(a) => a,
                Err(_) => return None,
            };
            if avail.is_empty() {
                return match (total, too_long) {
                    (0, _) => None,
                    (_, true) => Some(Frame::TooLong(total)),
                    (_, false) => Some(Frame::Line(buf)),
                };
            }
            let (chunk_len, done) = match avail.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            total += chunk_len as u64;
            if !too_long {
                if buf.len() + chunk_len > self.max {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(&avail[..chunk_len]);
                }
            }
            self.inner.consume(chunk_len + usize::from(done));
            if done {
                return Some(if too_long {
                    Frame::TooLong(total)
                } else {
                    Frame::Line(buf)
                });
            }
        }
    }

    /// The reader as a stream of frames.
    pub fn into_stream(self) -> impl Stream<Item = Frame>
    where
        R: 'static,
    {
        futures_util::stream::unfold(
            self,
            |mut r| async move { r.next_frame().await.map(|f| (f, r)) },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &'static [u8], max: usize) -> Vec<Frame> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut r = LineReader::new(tokio::io::BufReader::with_capacity(4, input), max);
            let mut out = Vec::new();
            while let Some(f) = r.next_frame().await {
                out.push(f);
            }
            out
        })
    }

    #[test]
    fn splits_lines_across_small_buffers() {
        let frames = read_all(b"{\"a\":1}\nhello\n\nlast", 64);
        assert_eq!(
            frames,
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(b"hello".to_vec()),
                Frame::Line(Vec::new()),
                Frame::Line(b"last".to_vec()),
            ]
        );
    }

    #[test]
    fn an_oversized_line_is_reported_and_the_next_line_survives() {
        let frames = read_all(b"0123456789abcdef\nok\n", 8);
        assert_eq!(
            frames,
            vec![Frame::TooLong(16), Frame::Line(b"ok".to_vec())]
        );
    }
}
