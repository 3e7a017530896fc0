//! The turn updates of one read of the worker's stdout, held until the read is handled and
//! then sent one message per turn (`TurnUpdate::Batch` when a turn has several): a turn
//! whose deltas, usage and completion arrive together costs its stream one mailbox
//! delivery, not one per line. Order within a turn is kept; outside a read, updates go out
//! at once.

use crate::turn::TurnUpdate;
use actix::Recipient;

/// One turn's held updates.
struct Held {
    key: u64,
    sink: Recipient<TurnUpdate>,
    first: TurnUpdate,
    more: Vec<TurnUpdate>,
}

/// Updates held during a read (`holding`), in the order their turns first had one.
#[derive(Default)]
pub(super) struct Outbox {
    holding: bool,
    held: Vec<Held>,
}

impl Outbox {
    /// A read begins: updates are held until [`Outbox::flush`].
    pub(super) fn hold(&mut self) {
        self.holding = true;
    }

    /// Sends `update` to the turn `key`'s stream, or holds it behind that turn's others.
    pub(super) fn send(&mut self, key: u64, sink: &Recipient<TurnUpdate>, update: TurnUpdate) {
        if !self.holding {
            sink.do_send(update);
            return;
        }
        match self.held.iter_mut().find(|h| h.key == key) {
            Some(h) => h.more.push(update),
            None => self.held.push(Held {
                key,
                sink: sink.clone(),
                first: update,
                more: Vec::new(),
            }),
        }
    }

    /// The read is handled (or something is about to go to a stream directly): everything
    /// held goes out, and updates are no longer held.
    pub(super) fn flush(&mut self) {
        self.holding = false;
        for h in self.held.drain(..) {
            if h.more.is_empty() {
                h.sink.do_send(h.first);
            } else {
                let mut all = h.more;
                all.insert(0, h.first);
                h.sink.do_send(TurnUpdate::Batch(all));
            }
        }
    }
}
