//! Bounded line framing for a worker's stdout: a line longer than the bound is discarded up
//! to its newline and reported, never buffered without limit. Lines are handed out borrowed
//! from the read buffer when they lie whole in it, else from one reused buffer: reading a
//! line allocates nothing.

use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncBufRead;

/// One framed read.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Line(Vec<u8>),
    /// A line over the bound; carries its length in bytes.
    TooLong(u64),
}

/// One framed read, borrowed from the reader.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum LineRef<'a> {
    Line(&'a [u8]),
    /// A line over the bound; carries its length in bytes.
    TooLong(u64),
}

impl LineRef<'_> {
    fn to_frame(self) -> Frame {
        match self {
            LineRef::Line(l) => Frame::Line(l.to_vec()),
            LineRef::TooLong(n) => Frame::TooLong(n),
        }
    }
}

/// A line buffer kept for the next line past this size is given back instead.
const KEEP_PARTIAL: usize = 64 * 1024;

/// Reads newline-terminated lines of at most `max` bytes.
pub struct LineReader<R> {
    inner: R,
    max: usize,
    /// The start of a line that did not fit in the read buffer (reused across lines).
    partial: Vec<u8>,
    /// Bytes of the current line so far, and whether it is over the bound already.
    total: u64,
    too_long: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            partial: Vec::new(),
            total: 0,
            too_long: false,
        }
    }

    /// Hands the complete lines available now to `on`, at most `budget` of them, until `on`
    /// returns false. `Ready(Some(n))`: `n` lines were handed over and the reader stopped
    /// (budget or `on`) with input perhaps left; `Pending`: no more input now (the waker is
    /// registered); `Ready(None)`: end of input or a read error (a last line without its
    /// newline is handed over first).
    pub fn poll_lines(
        &mut self,
        cx: &mut Context<'_>,
        budget: usize,
        mut on: impl FnMut(LineRef<'_>) -> bool,
    ) -> Poll<Option<usize>> {
        let Self {
            inner,
            max,
            partial,
            total,
            too_long,
        } = self;
        let mut handed = 0;
        loop {
            if handed >= budget {
                return Poll::Ready(Some(handed));
            }
            let avail = match Pin::new(&mut *inner).poll_fill_buf(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok(a)) => a,
            };
            if avail.is_empty() {
                if *total > 0 {
                    let frame = match *too_long {
                        true => LineRef::TooLong(*total),
                        false => LineRef::Line(partial),
                    };
                    on(frame);
                    reset(partial, total, too_long);
                }
                return Poll::Ready(None);
            }
            let mut pos = 0;
            let mut go_on = true;
            while pos < avail.len() && handed < budget && go_on {
                let rest = &avail[pos..];
                let Some(i) = memchr::memchr(b'\n', rest) else {
                    // The line goes on past the buffer: keep its start (if within bound).
                    *total += rest.len() as u64;
                    if !*too_long {
                        if partial.len() + rest.len() > *max {
                            *too_long = true;
                            *partial = Vec::new();
                        } else {
                            partial.extend_from_slice(rest);
                        }
                    }
                    pos = avail.len();
                    break;
                };
                *total += i as u64;
                let frame = if *too_long || partial.len() + i > *max {
                    LineRef::TooLong(*total)
                } else if partial.is_empty() {
                    LineRef::Line(&rest[..i])
                } else {
                    partial.extend_from_slice(&rest[..i]);
                    LineRef::Line(partial)
                };
                go_on = on(frame);
                handed += 1;
                reset(partial, total, too_long);
                pos += i + 1;
            }
            Pin::new(&mut *inner).consume(pos);
            if !go_on {
                return Poll::Ready(Some(handed));
            }
        }
    }

    /// The next frame, or `None` at end of input (or on a read error).
    pub async fn next_frame(&mut self) -> Option<Frame> {
        std::future::poll_fn(|cx| {
            let mut frame = None;
            match self.poll_lines(cx, 1, |f| {
                frame = Some(f.to_frame());
                true
            }) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(_) => Poll::Ready(frame),
            }
        })
        .await
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

/// Starts the next line, keeping the buffer unless one long line grew it.
fn reset(partial: &mut Vec<u8>, total: &mut u64, too_long: &mut bool) {
    if partial.capacity() > KEEP_PARTIAL {
        *partial = Vec::new();
    } else {
        partial.clear();
    }
    *total = 0;
    *too_long = false;
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

    /// Every frame `poll_lines` hands over, and the capacity of the reused line buffer at
    /// the end (zero: every line was borrowed from the read buffer).
    fn poll_all(
        input: &'static [u8],
        cap: usize,
        max: usize,
        budget: usize,
    ) -> (Vec<Frame>, usize) {
        let mut r = LineReader::new(tokio::io::BufReader::with_capacity(cap, input), max);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        loop {
            let polled = r.poll_lines(&mut cx, budget, |f| {
                out.push(f.to_frame());
                true
            });
            match polled {
                Poll::Ready(Some(n)) => assert_eq!(n, budget),
                Poll::Ready(None) => return (out, r.partial.capacity()),
                Poll::Pending => panic!("an in-memory reader is never pending"),
            }
        }
    }

    fn lines(of: &[&str]) -> Vec<Frame> {
        of.iter()
            .map(|s| Frame::Line(s.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn lines_whole_in_the_buffer_are_borrowed_and_split_ones_assembled() {
        let (frames, kept) = poll_all(b"ab\ncdef\nij\n", 64, 64, 16);
        assert_eq!(frames, lines(&["ab", "cdef", "ij"]));
        assert_eq!(
            kept, 0,
            "no line buffer when every line lies whole in the read buffer"
        );
        let (frames, kept) = poll_all(b"ab\ncdefgh\nij\n", 8, 64, 16);
        assert_eq!(frames, lines(&["ab", "cdefgh", "ij"]));
        assert!(kept > 0, "a split line is assembled in the kept buffer");
    }

    #[test]
    fn the_budget_bounds_one_poll_and_nothing_is_lost() {
        let (frames, _) = poll_all(b"1\n2\n3\n4\n5", 64, 64, 2);
        assert_eq!(frames, lines(&["1", "2", "3", "4", "5"]));
    }

    #[test]
    fn oversized_lines_split_or_whole_are_reported_with_their_length() {
        let (frames, _) = poll_all(b"0123456789abcdef\nok\n0123456789\nend", 4, 8, 16);
        assert_eq!(
            frames,
            vec![
                Frame::TooLong(16),
                Frame::Line(b"ok".to_vec()),
                Frame::TooLong(10),
                Frame::Line(b"end".to_vec()),
            ]
        );
        let (whole, _) = poll_all(b"0123456789\nok\n", 64, 8, 16);
        assert_eq!(whole, vec![Frame::TooLong(10), Frame::Line(b"ok".to_vec())]);
    }
}
