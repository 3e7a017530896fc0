//! Reading the process's stdin: a plain thread doing blocking reads into recycled buffers.

use std::io::Read;
use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

use crate::lines::READ_SIZE;

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
