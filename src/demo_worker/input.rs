//! Reading stdin: a plain thread doing blocking reads into recycled buffers, and the line splitter.

use std::io::Read;
use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

/// Bytes asked for per read; a burst of small lines arrives in one buffer.
const READ_SIZE: usize = 64 * 1024;

/// The receiving end of the reader thread: filled buffers in, emptied buffers back for reuse.
pub struct Stdin {
    pub filled: mpsc::Receiver<Vec<u8>>,
    pub recycle: std_mpsc::Sender<Vec<u8>>,
}

/// Starts the reader thread. The channel closes on EOF or a read error. The thread is detached:
/// it may stay blocked in `read` until the process exits.
pub fn spawn() -> std::io::Result<Stdin> {
    let (filled_tx, filled) = mpsc::channel::<Vec<u8>>(16);
    let (recycle, recycled) = std_mpsc::channel::<Vec<u8>>();
    std::thread::Builder::new()
        .name("demo-stdin".to_owned())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut buf = recycled
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(READ_SIZE));
                buf.resize(READ_SIZE, 0);
                let n = match stdin.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                buf.truncate(n);
                if filled_tx.blocking_send(buf).is_err() {
                    return;
                }
            }
        })?;
    Ok(Stdin { filled, recycle })
}

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
