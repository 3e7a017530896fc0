//! Builds the actix-web servers from the route table (`routes.rs`): each listener registers
//! the routes it serves, and each route is given its handler here; anything else is a JSON
//! 404 (or a CORS preflight). The optional metrics listener serves `/metrics` and the probes
//! only; when it is configured, `/metrics` moves there and the API listener answers it with
//! a 404.

use super::conn::ConnWatch;
use super::hot::Hot;
use super::peer::PeerSocket;
use super::routes::{Listener, Route};
use super::state::AppState;
use super::{access, completions, cors, models, probes, usage};
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

/// Which routes a listener serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Api,
    Metrics,
}

/// The handler of a route (`None` for `Other`, which the default service answers).
fn handler(route: Route) -> Option<actix_web::Route> {
    let r = web::method(route.endpoint()?.method.http()?);
    Some(match route {
        Route::ChatCompletions => r.to(completions::chat_completions),
        Route::Responses => r.to(completions::responses),
        Route::Models => r.to(models::list),
        Route::Model => r.to(models::get),
        Route::Usage => r.to(usage::get),
        Route::Livez => r.to(probes::livez),
        Route::Readyz => r.to(probes::readyz),
        Route::Healthz => r.to(probes::healthz),
        Route::Metrics => r.to(probes::metrics),
        Route::Other => return None,
    })
}

/// Builds a server on an already-bound listener.
pub fn build(
    state: AppState,
    listener: TcpListener,
    role: Role,
    serve_metrics: bool,
    workers: usize,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let bus = state.bus.clone();
    let server = HttpServer::new(move || {
        // Per worker thread: the state the middleware shares with every request it wraps, and
        // the metric handles resolved for this thread (`hot.rs`).
        let st = Rc::new(state.clone());
        let hot = Rc::new(Hot::new(&state));
        let wrap_hot = hot.clone();
        let mut app = App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(hot)
            .app_data(web::PayloadConfig::new(usize::MAX))
            .wrap_fn(move |req, srv| access::wrap(req, srv, st.clone(), wrap_hot.clone()));
        let serves = |listener| match listener {
            Listener::Api => role == Role::Api,
            Listener::Any => true,
            Listener::Scrape => serve_metrics,
        };
        for route in Route::ALL {
            if let (Some(e), Some(h)) = (route.endpoint(), handler(*route)) {
                if serves(e.listener) {
                    app = app.route(e.template, h);
                }
            }
        }
        app.default_service(web::to(cors::fallback))
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout.as_secs().max(1))
    .on_connect(move |conn, data| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
            // API handlers probe it to notice a client that hung up while they wait.
            if role == Role::Api {
                if let Some(peer) = PeerSocket::new(tcp) {
                    let peer = Rc::new(peer);
                    data.insert(Rc::new(ConnWatch::new(peer.clone(), bus.clone())));
                    data.insert(peer);
                }
            }
        }
    })
    .listen(listener)?
    .run();
    Ok(server)
}
