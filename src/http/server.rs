//! Builds the actix-web servers. Routes on the API listener:
//! `POST /v1/chat/completions`, `POST /v1/responses`, `GET /v1/models`, `GET /v1/models/{id}`,
//! `GET /livez`, `GET /readyz`, `GET /healthz`, `GET /metrics`; anything else is a JSON 404.
//! The optional metrics listener serves `/metrics` and the probes only; when it is
//! configured, `/metrics` moves there and the API listener answers it with a 404.

use super::peer::PeerSocket;
use super::state::AppState;
use super::{access, completions, cors, models, probes};
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

/// Which routes a listener serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Api,
    Metrics,
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
    let server = HttpServer::new(move || {
        let st = state.clone();
        let app = App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::PayloadConfig::new(usize::MAX))
            .wrap_fn(move |req, srv| access::wrap(req, srv, st.clone()))
            .route("/livez", web::get().to(probes::livez))
            .route("/readyz", web::get().to(probes::readyz))
            .route("/healthz", web::get().to(probes::healthz));
        let app = if serve_metrics {
            app.route("/metrics", web::get().to(probes::metrics))
        } else {
            app
        };
        let app = if role == Role::Api {
            app.route(
                "/v1/chat/completions",
                web::post().to(completions::chat_completions),
            )
            .route("/v1/responses", web::post().to(completions::responses))
            .route("/v1/models", web::get().to(models::list))
            .route("/v1/models/{id}", web::get().to(models::get))
        } else {
            app
        };
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
                    data.insert(std::rc::Rc::new(peer));
                }
            }
        }
    })
    .listen(listener)?
    .run();
    Ok(server)
}
