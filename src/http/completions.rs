//! Routes: `POST /v1/chat/completions` and `POST /v1/responses`. Auth, body limit and
//! validation come first; then admission (a lease), then one `UpstreamStream` actor whose
//! outputs become a JSON body or SSE frames.

use super::access::RequestFacts;
use super::admission::{reject, Admission, Gate};
use super::auth;
use super::body;
use super::errors::ApiError;
use super::hot::Hot;
use super::ids;
use super::openai::chat::{self, ChatSse};
use super::openai::request::{parse_chat, parse_responses, Parsed};
use super::openai::responses::{self, ResponsesSse};
use super::openai::ApiKind;
use super::peer::{self, PeerSocket};
use super::routes::Route;
use super::sse_body::{Sse, SseBody};
use super::state::AppState;
use actix::Actor;
use actix_web::web;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use codexd_actors::clock;
use codexd_actors::labels::RejectReason;
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::stream::{UpstreamStream, UpstreamTiming};
use codexd_actors::turn::{RequestContext, StreamOutput, TokenUsage, TurnRequest};
use codexd_actors::worker::supervisor::{AcquireLease, AcquireStream, LeaveQueue, StartWithLease};
use codexd_actors::worker::Lease;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

pub async fn chat_completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    serve(ApiKind::Chat, req, payload, state).await
}

pub async fn responses(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    serve(ApiKind::Responses, req, payload, state).await
}

async fn serve(
    kind: ApiKind,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let accepted_at = Instant::now();
    let facts = req
        .extensions()
        .get::<Arc<RequestFacts>>()
        .cloned()
        .unwrap_or_default();
    match run(kind, &req, payload, &state, &facts, accepted_at).await {
        Ok(r) => r,
        Err(e) => {
            facts.set_error(&e, false);
            e.response(&facts.ids.req_id)
        }
    }
}

/// A lease, or `None` when the client hung up while its request waited for one: it leaves
/// the admission queue at once (`LeaveQueue`), and the request ends as a client abort.
pub(super) async fn acquire(
    state: &AppState,
    facts: &RequestFacts,
    peer: Option<&PeerSocket>,
) -> Result<Option<Lease>, ApiError> {
    let (tx, rx) = oneshot::channel();
    state.supervisor.do_send(AcquireLease {
        ids: facts.ids.clone(),
        reply: tx,
    });
    let answer = tokio::select! {
        answer = tokio::time::timeout(state.api.queue_timeout, rx) => Some(answer),
        () = peer::hang_up(peer) => None,
    };
    // Dropping the receiver (above) marked the place as abandoned; the supervisor frees it.
    let Some(answer) = answer else {
        state.supervisor.do_send(LeaveQueue);
        return Ok(None);
    };
    match answer {
        Ok(Ok(Ok(lease))) => Ok(Some(lease)),
        Ok(Ok(Err(reason))) => Err(reject(state, facts, reason)),
        Ok(Err(_)) => Err(reject(state, facts, RejectReason::NoWorker)),
        Err(_) => Err(reject(state, facts, RejectReason::QueueTimeout)),
    }
}

async fn run(
    kind: ApiKind,
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    facts: &Arc<RequestFacts>,
    accepted_at: Instant,
) -> Result<HttpResponse, ApiError> {
    if !auth::api_allowed(req, &state.api.api_keys) {
        return Err(ApiError::Unauthorized);
    }
    super::limits::admit(req, state, facts).await?;
    let body = body::read(req, payload, state.api.body_limits(), facts).await?;
    // Checked as UTF-8 once, whole (read from bytes, serde_json checks each string); a body
    // that is not UTF-8 is read from bytes, and refused, as before.
    let value: serde_json::Value = match std::str::from_utf8(&body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(&body),
    }
    .map_err(|_| ApiError::InvalidJson)?;
    let mut parsed = match kind {
        ApiKind::Chat => parse_chat(&value)?,
        ApiKind::Responses => parse_responses(&value)?,
    };
    let (model_index, model) = state
        .api
        .models
        .iter()
        .enumerate()
        .find(|(_, m)| m.id == parsed.model)
        .ok_or(ApiError::ModelNotFound)?;
    facts.set_model(&model.id, parsed.stream);
    let mut plan = super::followup::plan(kind, &value, state, &facts.ids)?;
    let (features, effort) = super::openai::features::resolve(
        &parsed.features,
        kind,
        model,
        &state.efforts,
        state.api.max_image_bytes,
    )?;
    let route_of = |k| match k {
        ApiKind::Chat => Route::ChatCompletions,
        ApiKind::Responses => Route::Responses,
    };
    super::openai::ignored_fields::count(
        &state.metrics.fields_ignored,
        route_of(kind).label().as_str(),
        &parsed.features.ignored,
    );
    super::openai::features::count_used(
        &state.metrics.features_used,
        Some(route_of(kind).label().as_str()),
        &parsed.features.used(),
    );
    // Draining is the supervisor's: it answers `draining` from the stop_accepting phase on.
    let peer = req.conn_data::<Rc<PeerSocket>>().cloned();
    // A follow-up's lease is its own (pinned to the parked turn's worker, or a replay's) and
    // is taken first; every other request's stream is started by the supervisor itself.
    let lease = if plan.is_followup() {
        match super::followup::lease(&mut plan, state, facts, peer.as_deref()).await? {
            Some(lease) => Some(lease),
            None => return Ok(client_gone(facts)),
        }
    } else {
        None
    };
    let route = match kind {
        ApiKind::Chat => Route::ChatCompletions,
        ApiKind::Responses => Route::Responses,
    }
    .label();
    let chat_span = ids::hex(8);
    let turn = TurnRequest {
        ctx: RequestContext {
            ids: facts.ids.clone(),
            chat_span_id: chat_span.clone(),
            sampled: facts.sampled,
            traceparent: Some(ids::format_traceparent(
                &facts.ids.trace_id,
                &chat_span,
                facts.sampled,
            )),
            tracestate: req
                .headers()
                .get("tracestate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        },
        route,
        model_id: model.id.clone(),
        codex_model: model.codex_model.clone(),
        reasoning_effort: effort,
        developer_instructions: if state.api.allow_system_prompt {
            parsed.system.take()
        } else {
            None
        },
        input: if parsed.features.json_object {
            format!(
                "{}\n\n{}",
                parsed.input,
                super::openai::features::JSON_OBJECT_INSTRUCTION
            )
        } else {
            std::mem::take(&mut parsed.input)
        },
        stream: parsed.stream,
        accepted_at,
        tools: std::mem::take(&mut plan.turn),
        features,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let timing = Arc::new(UpstreamTiming::default());
    facts.set_timing(timing.clone());
    let gap = match req.app_data::<Rc<Hot>>() {
        Some(hot) => hot.chunk_gap(route_of(kind), model_index, &model.id),
        None => state
            .metrics
            .chunk_gap
            .with_label_values(&[route.as_str(), model.id.as_str()]),
    };
    let (turn, bus, streams) = (Arc::new(turn), state.bus.clone(), state.streams.clone());
    let mut gate = match lease {
        Some(lease) => {
            let upstream = UpstreamStream::new(turn, lease, tx, bus, streams, gap, timing);
            // Next to its connection: the turn's updates stay on one thread.
            UpstreamStream::start_in_arbiter(&state.stream_home, move |_| upstream);
            Gate::settled()
        }
        None => {
            let granted = Arc::new(std::sync::OnceLock::new());
            let started = granted.clone();
            // Run by the supervisor, on the connections' arbiter, when it grants the lease.
            let start: StartWithLease = Box::new(move |lease, admitted| {
                let _ = started.set(Instant::now());
                UpstreamStream::new(turn, lease, tx, bus, streams, gap, timing)
                    .holding(admitted)
                    .start();
            });
            let (reply, answer) = oneshot::channel();
            state.supervisor.do_send(AcquireStream {
                ids: facts.ids.clone(),
                start,
                reply,
            });
            Gate::waiting(answer, granted, state)
        }
    };
    let memo = super::followup::Memo::new(kind, state, plan.history);
    if parsed.stream {
        stream(
            kind,
            rx,
            &mut gate,
            &parsed,
            &model.id,
            state,
            facts.clone(),
            peer,
            memo,
        )
        .await
    } else {
        let echo = &parsed.features.echo;
        let ends = Ends {
            gate: &mut gate,
            state,
            facts,
            peer: peer.as_deref(),
        };
        unary(kind, rx, &model.id, echo, ends, memo).await
    }
}

/// The answer to a client that hung up before its response existed: nobody reads it, and
/// dropping the receiver makes the stream actor interrupt the turn.
fn client_gone(facts: &RequestFacts) -> HttpResponse {
    facts.set_client_gone();
    HttpResponse::new(
        actix_web::http::StatusCode::from_u16(499)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
}

/// What can end a request before its stream does: its admission, and its client.
struct Ends<'a> {
    gate: &'a mut Gate,
    state: &'a AppState,
    facts: &'a RequestFacts,
    peer: Option<&'a PeerSocket>,
}

async fn unary(
    kind: ApiKind,
    mut rx: mpsc::UnboundedReceiver<StreamOutput>,
    model: &str,
    echo: &serde_json::Map<String, serde_json::Value>,
    ends: Ends<'_>,
    mut memo: Option<super::followup::Memo>,
) -> Result<HttpResponse, ApiError> {
    let Ends {
        gate,
        state,
        facts,
        peer,
    } = ends;
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut reasoning = String::new();
    let mut encrypted = None;
    let mut usage = TokenUsage::default();
    let hung_up = peer::hang_up(peer);
    tokio::pin!(hung_up);
    loop {
        // The gate first: woken by the first output, it notes the grant and stops watching
        // the answer, whose sender the stream drops when it ends.
        let item = tokio::select! {
            biased;
            admission = gate.event(state, facts) => match admission {
                Admission::Granted(_) => continue,
                Admission::Refused(e) => return Err(e),
            },
            item = rx.recv() => item,
            _ = &mut hung_up => {
                gate.leave(state);
                return Ok(client_gone(facts));
            }
        };
        match item {
            Some(StreamOutput::Text(t)) => text.push_str(&t),
            Some(StreamOutput::ToolCall(c)) => calls.push(c),
            Some(StreamOutput::Reasoning(t)) => reasoning.push_str(&t),
            Some(StreamOutput::ReasoningItem(r)) => {
                super::followup::note_reasoning(&mut memo, &r);
                encrypted = r.encrypted_content.or(encrypted);
            }
            Some(StreamOutput::Usage(u)) => usage = u,
            Some(StreamOutput::Keepalive) => {}
            Some(StreamOutput::Ended(StreamOutcome::Completed)) => break,
            Some(StreamOutput::Ended(failure)) => return Err(ApiError::Stream(failure)),
            None => {
                return Err(gate
                    .refusal(state, facts)
                    .await
                    .unwrap_or(ApiError::Stream(StreamOutcome::WorkerLost)))
            }
        }
    }
    let created = clock::unix_seconds();
    let body = match kind {
        ApiKind::Chat => {
            let id = ids::prefixed("chatcmpl-", 12);
            chat::completion::Completion::new(&id, created, model, &text, &usage, &calls).to_bytes()
        }
        ApiKind::Responses => {
            use responses::object::{Item, Response, Usage};
            let id = ids::prefixed("resp_", 24);
            let msg_id = ids::prefixed("msg_", 24);
            if let Some(m) = memo.as_mut() {
                m.finish(&id, &text, &calls);
            }
            // One reasoning item first when there is a summary or encrypted content, then the
            // message (dropped when it is empty next to calls), then the calls.
            let rs_id =
                (!reasoning.is_empty() || encrypted.is_some()).then(|| ids::prefixed("rs_", 24));
            let mut output = Vec::with_capacity(2 + calls.len());
            if let Some(rs_id) = &rs_id {
                output.push(Item::Reasoning {
                    id: rs_id,
                    text: &reasoning,
                    encrypted: encrypted.as_deref(),
                });
            }
            if !text.is_empty() || calls.is_empty() {
                output.push(Item::Message {
                    id: &msg_id,
                    text: &text,
                });
            }
            output.extend(calls.iter().map(Item::Call));
            Response::completed(&id, created, model, &output, Usage::of(&usage), echo).to_bytes()
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// How long the header hold sleeps while its request is still queued (the grant re-arms it).
const QUEUED_HOLD: std::time::Duration = std::time::Duration::from_secs(3600);

/// Holds the headers until the first output, an error or `header_hold`, so that early
/// failures still get a real status code; after that, failures are error frames.
#[expect(
    clippy::too_many_arguments,
    reason = "the stream's inputs, each used once; a struct would only rename them"
)]
async fn stream(
    kind: ApiKind,
    mut rx: mpsc::UnboundedReceiver<StreamOutput>,
    gate: &mut Gate,
    parsed: &Parsed,
    model: &str,
    state: &AppState,
    facts: Arc<RequestFacts>,
    peer: Option<Rc<PeerSocket>>,
    mut memo: Option<super::followup::Memo>,
) -> Result<HttpResponse, ApiError> {
    let first = {
        let mut first = None;
        let hold = tokio::time::sleep(state.api.header_hold);
        tokio::pin!(hold);
        let hung_up = peer::hang_up(peer.as_deref());
        tokio::pin!(hung_up);
        loop {
            tokio::select! {
                _ = &mut hung_up => {
                    gate.leave(state);
                    return Ok(client_gone(&facts));
                }
                item = rx.recv() => match item {
                    Some(StreamOutput::Keepalive) => continue,
                    Some(StreamOutput::Ended(o)) if !o.is_completed() => return Err(ApiError::Stream(o)),
                    Some(other) => { first = Some(other); break; }
                    None => {
                        return Err(gate
                            .refusal(state, &facts)
                            .await
                            .unwrap_or(ApiError::Stream(StreamOutcome::WorkerLost)))
                    }
                },
                admission = gate.event(state, &facts) => match admission {
                    // Granted from the queue: the hold runs from now.
                    Admission::Granted(at) => hold
                        .as_mut()
                        .reset(tokio::time::Instant::from_std(at + state.api.header_hold)),
                    Admission::Refused(e) => return Err(e),
                },
                // The hold runs from the grant: a request still queued keeps its headers
                // until it is granted (or refused, with a status).
                _ = &mut hold => match gate.granted_at() {
                    Some(_) => break,
                    None => hold
                        .as_mut()
                        .reset(tokio::time::Instant::now() + QUEUED_HOLD),
                },
            }
        }
        first
    };
    let created = clock::unix_seconds();
    let req_id = facts.ids.req_id.clone();
    let mut sse = match kind {
        ApiKind::Chat => Sse::Chat(ChatSse::new(
            ids::prefixed("chatcmpl-", 12),
            created,
            model.to_owned(),
            parsed.include_usage,
            req_id,
        )),
        ApiKind::Responses => Sse::Responses(
            ResponsesSse::new(
                memo.as_mut()
                    .map_or_else(|| ids::prefixed("resp_", 24), |m| m.id()),
                ids::prefixed("msg_", 24),
                created,
                model.to_owned(),
                req_id,
            )
            .with_echo(parsed.features.echo.clone()),
        ),
    };
    let mut head = Vec::with_capacity(1024);
    sse.prelude(&mut head);
    let mut done = false;
    if let Some(item) = first {
        super::followup::observe(&mut memo, &item);
        done = sse.encode(item, &mut head);
    }
    let body = SseBody::new(rx, sse, head, done, facts, peer, memo);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .body(body))
}
