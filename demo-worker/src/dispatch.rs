//! Dispatch of client lines: requests to their handlers, responses to the server→client request
//! waiting for them; refusals of requests that cannot be answered.

use std::rc::Rc;

use serde_json::Value;

use crate::client_messages::{invalid_request, Incoming, Minimal, Params};
use crate::handshake::initialize;
use crate::jsonrpc::INVALID_REQUEST;
use crate::session::Session;
use crate::{client_tools, server_requests, thread_requests, turn_requests};

/// Handles one line from stdin. Lines that are not a JSON object are ignored, like Codex does.
pub fn dispatch(ctx: &Rc<Session>, line: &[u8]) {
    let message: Incoming = match serde_json::from_slice(line) {
        Ok(message) => message,
        Err(error) => {
            // Valid JSON but ill-typed params: answer by id, as Codex does.
            if let Ok(Minimal {
                id: Some(id),
                method: Some(_),
            }) = serde_json::from_slice(line)
            {
                ctx.out.err(&id, INVALID_REQUEST, &invalid_request(&error));
            }
            return;
        }
    };
    match (message.id, message.method) {
        (Some(id), Some(method)) => request(ctx, &id, &method, message.params),
        (Some(id), None) => {
            if !client_tools::resolve(ctx, &id, message.result.as_ref()) {
                server_requests::resolve(ctx, &id, message.result, message.error.is_some())
            }
        }
        // Notifications (`initialized`, …) get no reply.
        (None, _) => {}
    }
}

fn request(ctx: &Rc<Session>, id: &Value, method: &str, params: Option<Params<'_>>) {
    if method != "initialize" && !ctx.initialized.get() {
        ctx.out.err(id, INVALID_REQUEST, "Not initialized");
        return;
    }
    if method == "account/rateLimits/read" {
        return crate::rate_limits::read(ctx, id);
    }
    let known = matches!(
        method,
        "initialize"
            | "account/read"
            | "thread/start"
            | "thread/unsubscribe"
            | "thread/loaded/list"
            | "turn/start"
            | "turn/interrupt"
            | "thread/inject_items"
            | "model/list"
    );
    if !known {
        let message = format!("Invalid request: unknown variant `{method}`");
        ctx.out.err(id, INVALID_REQUEST, &message);
        return;
    }
    let Some(params) = params else {
        return ctx.missing(id, "params");
    };
    match method {
        "initialize" => initialize(ctx, id, params),
        "account/read" => crate::rate_limits::account_read(ctx, id),
        "thread/start" => thread_requests::start(ctx, id, params),
        "thread/unsubscribe" => thread_requests::unsubscribe(ctx, id, params),
        "thread/loaded/list" => thread_requests::loaded_list(ctx, id),
        "turn/start" => turn_requests::start(ctx, id, params),
        "thread/inject_items" => {
            let thread = params
                .thread_id
                .as_deref()
                .and_then(|t| crate::ids::parse_tagged(t, crate::ids::THREAD));
            client_tools::inject(ctx, id, thread, params.items.as_ref())
        }
        "model/list" => crate::models::list(ctx, id),
        _ => turn_requests::interrupt(ctx, id, params),
    }
}
