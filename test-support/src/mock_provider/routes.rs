//! The mock's HTTP server (actix-web on its own thread and runtime, so it keeps answering
//! whatever the test's own runtime is doing) and its routes: `POST .../responses` from the
//! scripted replies, OTLP/HTTP exports, `GET .../models`, a JSON 404 for anything else.

use super::reply::Reply;
use super::sse::{self, Ending, Script};
use super::state::{Incoming, Shared};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use actix_web::http::{KeepAlive, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Largest request body the mock accepts.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Which TCP connection (accept order, from 0) carried a request.
#[derive(Clone, Copy)]
struct ConnectionId(usize);

/// Serves `listener` until the returned server is stopped; runs on the caller's actix
/// system.
pub(super) fn server(
    listener: TcpListener,
    shared: Arc<Shared>,
) -> io::Result<actix_web::dev::Server> {
    let next_connection = Arc::new(AtomicUsize::new(0));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::from(Arc::clone(&shared)))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .default_service(web::to(route))
    })
    .workers(1)
    .disable_signals()
    // No idle or head timeouts: a client may keep a connection as long as it likes.
    .keep_alive(KeepAlive::Os)
    .client_request_timeout(Duration::ZERO)
    // A client that closes its side has gone away: end its open answer at once.
    .h1_allow_half_closed(false)
    .on_connect(move |conn, ext| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
        ext.insert(ConnectionId(next_connection.fetch_add(1, Ordering::SeqCst)));
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// Records every request, then answers it.
async fn route(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let incoming = Incoming {
        connection: req.conn_data::<ConnectionId>().map_or(0, |c| c.0),
        method: req.method().as_str().to_owned(),
        path: req.path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        headers: req
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
                (name.as_str().to_ascii_lowercase(), value)
            })
            .collect(),
        body: body.to_vec(),
    };
    let (method, path) = (incoming.method.clone(), incoming.path.clone());
    match shared.record(incoming) {
        Some((k, reply)) => answer_responses(shared.into_inner(), k, &request_model(&body), reply),
        None => answer_other(&method, &path),
    }
}

fn request_model(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "mock-model".to_owned())
}

fn json_response(code: u16, body: &Value) -> HttpResponse {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(body.to_string())
}

/// Answers the `k`-th `POST .../responses` with `reply`.
fn answer_responses(shared: Arc<Shared>, k: usize, model: &str, reply: Reply) -> HttpResponse {
    let ending = Ending::new(shared, k);
    match &reply {
        Reply::Status {
            code,
            retry_after_secs,
            body,
        } => {
            let mut resp = json_response(*code, body);
            if let Some(secs) = retry_after_secs {
                if let Ok(v) = secs.to_string().try_into() {
                    resp.headers_mut().insert(RETRY_AFTER, v);
                }
            }
            ending.finish();
            resp
        }
        Reply::Disconnect => {
            // A body that fails before its first byte: the connection closes unanswered.
            ending.finish();
            HttpResponse::Ok().streaming(futures_util::stream::once(async {
                Err::<Bytes, _>(io::Error::other("mock provider: disconnect"))
            }))
        }
        Reply::Stream { .. }
        | Reply::Hang { .. }
        | Reply::Failed { .. }
        | Reply::Calls { .. }
        | Reply::Reasoned { .. } => {
            let Some(script) = Script::for_reply(k, model, &reply) else {
                return json_response(500, &json!({"error": {"message": "no script"}}));
            };
            HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, "text/event-stream"))
                .insert_header((CACHE_CONTROL, "no-cache"))
                .insert_header(("x-request-id", format!("mock-req-{k}")))
                .streaming(sse::body(script, ending))
        }
    }
}

/// Answers anything that is not `POST .../responses`.
fn answer_other(method: &str, path: &str) -> HttpResponse {
    let is_otlp = method == "POST" && matches!(path, "/v1/traces" | "/v1/metrics" | "/v1/logs");
    if is_otlp {
        // An empty protobuf message is a valid (fully successful) Export*ServiceResponse.
        return HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "application/x-protobuf"))
            .finish();
    }
    if method == "GET" && path.ends_with("/models") {
        return json_response(200, &json!({"object": "list", "data": [], "models": []}));
    }
    json_response(
        404,
        &json!({"error": {"message": "not served by the mock provider", "type": "not_found"}}),
    )
}
