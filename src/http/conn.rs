//! Connections that actix-http answers on its own. A malformed request head (a control
//! character in a header, too many headers, a head over actix-http's 128 KiB buffer) or a head
//! that does not arrive within actix-web's 5 s head timeout gets a bare 400, 431 or 408 from
//! actix-http before any request exists, so no handler, envelope or `request_completed` can
//! see it. What can be observed honestly is the connection: when it ends, codexd sent bytes on
//! it (TCP_INFO) although no request ever reached codexd, so actix-http answered alone. That
//! connection is one `request_head_rejected` event (and one count of
//! `codexd_http_request_heads_rejected_total`). A framing error on a later request of a
//! keep-alive connection is not seen (docs/api.md, "Malformed HTTP").

use super::peer::PeerSocket;
use codexd_actors::events::{Event, HttpEvent};
use codexd_actors::BusHandle;
use std::cell::Cell;
use std::rc::Rc;

/// Stored as connection data by `on_connect`; judged when the connection is dropped.
pub struct ConnWatch {
    peer: Rc<PeerSocket>,
    requests: Cell<u64>,
    bus: BusHandle,
}

impl ConnWatch {
    pub fn new(peer: Rc<PeerSocket>, bus: BusHandle) -> Self {
        Self {
            peer,
            requests: Cell::new(0),
            bus,
        }
    }

    /// A request of this connection reached codexd's service.
    pub fn request_seen(&self) {
        self.requests.set(self.requests.get().saturating_add(1));
    }
}

impl Drop for ConnWatch {
    fn drop(&mut self) {
        if self.requests.get() > 0 {
            return;
        }
        if self.peer.bytes_sent().is_some_and(|n| n > 0) {
            self.bus
                .publish(Event::Http(HttpEvent::RequestHeadRejected));
        }
    }
}
