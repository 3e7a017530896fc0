//! docs/events.md against `codexd_actors::events`: every event of `CATALOGUE` with the level,
//! component and message of `Event::meta` and exactly the fields (and JSON types) its log line
//! carries, and the closed value sets against the label enums.

use super::samples::sample_events;
use super::{cell, first_tick, names, read, tables, tables_headed, ticks, Problems};
use codexd::http::routes::{Method, Route};
use codexd_actors::events::{Event, CATALOGUE};
use codexd_actors::labels::*;
use codexd_actors::worker::state::SlotState;
use std::collections::{BTreeMap, BTreeSet};

/// The names a log line shows for slog's levels (see `src/logging.rs`).
fn level_name(level: slog::Level) -> &'static str {
    match level {
        slog::Level::Critical | slog::Level::Error => "error",
        slog::Level::Warning => "warn",
        slog::Level::Info => "info",
        slog::Level::Debug => "debug",
        slog::Level::Trace => "trace",
    }
}

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];
const JSON_TYPES: &[&str] = &["integer", "number", "string", "bool", "null"];

/// Records every field an event writes, with its JSON type.
#[derive(Default)]
struct FieldTypes(BTreeMap<String, BTreeSet<&'static str>>);

impl FieldTypes {
    fn put(&mut self, key: slog::Key, ty: &'static str) -> slog::Result {
        self.0.entry(key.to_string()).or_default().insert(ty);
        Ok(())
    }
}

/// Implements the typed `emit_*` methods of `slog::Serializer`, each recording one JSON type.
macro_rules! typed {
    ($($method:ident: $ty:ty => $json:literal),* $(,)?) => {
        $(fn $method(&mut self, key: slog::Key, _: $ty) -> slog::Result {
            self.put(key, $json)
        })*
    };
}

impl slog::Serializer for FieldTypes {
    fn emit_arguments(&mut self, key: slog::Key, _: &std::fmt::Arguments<'_>) -> slog::Result {
        self.put(key, "string")
    }
    fn emit_none(&mut self, key: slog::Key) -> slog::Result {
        self.put(key, "null")
    }
    fn emit_unit(&mut self, key: slog::Key) -> slog::Result {
        self.put(key, "null")
    }
    typed!(
        emit_str: &str => "string",
        emit_char: char => "string",
        emit_bool: bool => "bool",
        emit_f32: f32 => "number",
        emit_f64: f64 => "number",
        emit_usize: usize => "integer",
        emit_isize: isize => "integer",
        emit_u8: u8 => "integer",
        emit_i8: i8 => "integer",
        emit_u16: u16 => "integer",
        emit_i16: i16 => "integer",
        emit_u32: u32 => "integer",
        emit_i32: i32 => "integer",
        emit_u64: u64 => "integer",
        emit_i64: i64 => "integer",
    );
}

static LOCATION: slog::RecordLocation = slog::RecordLocation {
    file: "",
    line: 0,
    column: 0,
    function: "",
    module: "",
};

/// The fields (and their JSON types) an event writes on its log line.
fn fields_of(event: &Event) -> BTreeMap<String, BTreeSet<&'static str>> {
    use slog::KV;
    let rs = slog::RecordStatic {
        location: &LOCATION,
        tag: "",
        level: slog::Level::Info,
    };
    let mut out = FieldTypes::default();
    event
        .serialize(
            &slog::Record::new(&rs, &format_args!(""), slog::b!()),
            &mut out,
        )
        .expect("serialize event");
    out.0
}

/// What the code says about one event, over all its samples.
#[derive(Default)]
struct EventFacts {
    levels: BTreeSet<&'static str>,
    components: BTreeSet<&'static str>,
    msgs: BTreeSet<&'static str>,
    fields: BTreeMap<String, BTreeSet<&'static str>>,
}

fn event_facts() -> BTreeMap<&'static str, EventFacts> {
    let mut out: BTreeMap<&'static str, EventFacts> = BTreeMap::new();
    for e in sample_events() {
        let meta = e.meta();
        let f = out.entry(meta.name).or_default();
        f.levels.insert(level_name(meta.level));
        f.components.insert(meta.component.as_str());
        f.msgs.insert(meta.msg);
        for (k, types) in fields_of(&e) {
            f.fields.entry(k).or_default().extend(types);
        }
    }
    out
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

#[test]
fn every_catalogue_event_is_documented_and_every_documented_event_is_in_the_catalogue() {
    let doc = read("docs/events.md");
    let all = tables(&doc);
    let catalogue = set(CATALOGUE.iter().copied());
    let index: BTreeSet<String> = tables_headed(&all, "event")
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| first_tick(cell(r, 0))))
        .collect();
    let sections: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|h| h.trim().to_owned())
        .collect();
    let mut p = Problems::default();
    for name in catalogue.difference(&index) {
        p.check(false, || {
            format!("{name} is in CATALOGUE but not in the index table")
        });
    }
    for name in index.difference(&catalogue) {
        p.check(false, || {
            format!("{name} is in the index table but not in CATALOGUE")
        });
    }
    for name in catalogue.difference(&sections) {
        p.check(false, || format!("{name} has no `### {name}` section"));
    }
    for name in sections.difference(&catalogue) {
        p.check(false, || {
            format!("section `### {name}` is not in CATALOGUE")
        });
    }
    p.assert_none("docs/events.md");
}

#[test]
fn documented_levels_components_messages_and_fields_match_the_events() {
    let facts = event_facts();
    assert_eq!(
        facts.keys().copied().collect::<Vec<_>>(),
        set(CATALOGUE.iter().copied())
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "tests/docs.rs needs a sample of every event in CATALOGUE (see sample_events)"
    );
    let doc = read("docs/events.md");
    let all = tables(&doc);
    let index: BTreeMap<String, &Vec<String>> = tables_headed(&all, "event")
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| (first_tick(cell(r, 0)), r)))
        .collect();
    let mut p = Problems::default();
    for (name, f) in &facts {
        let Some(row) = index.get(*name) else {
            p.check(false, || format!("{name}: missing from the index table"));
            continue;
        };
        let levels: BTreeSet<String> = ticks(cell(row, 1))
            .into_iter()
            .filter(|t| LEVELS.contains(&t.as_str()))
            .collect();
        let want = set(f.levels.iter().copied());
        p.check(levels == want, || {
            format!("{name}: documented levels {levels:?}, code {want:?}")
        });
        let component = first_tick(cell(row, 2));
        p.check(
            set([component.as_str()]) == set(f.components.iter().copied()),
            || {
                format!(
                    "{name}: documented component {component}, code {:?}",
                    f.components
                )
            },
        );
        let msg = first_tick(cell(row, 3));
        p.check(set([msg.as_str()]) == set(f.msgs.iter().copied()), || {
            format!("{name}: documented msg {msg:?}, code {:?}", f.msgs)
        });

        let documented: BTreeMap<String, BTreeSet<String>> = all
            .iter()
            .filter(|t| t.heading == *name && t.header.first().is_some_and(|h| h == "field"))
            .flat_map(|t| t.rows.iter())
            .map(|r| {
                let types = cell(r, 1)
                    .split_whitespace()
                    .filter(|w| JSON_TYPES.contains(w))
                    .map(str::to_owned)
                    .collect();
                (first_tick(cell(r, 0)), types)
            })
            .collect();
        for (field, types) in &f.fields {
            let want = set(types.iter().copied());
            match documented.get(field) {
                None => p.check(false, || {
                    format!("{name}: field `{field}` is not documented")
                }),
                Some(doc_types) => p.check(doc_types == &want, || {
                    format!("{name}.{field}: documented type {doc_types:?}, code {want:?}")
                }),
            }
        }
        for field in documented.keys() {
            p.check(f.fields.contains_key(field), || {
                format!("{name}: documented field `{field}` is not written by the event")
            });
        }
    }
    p.assert_none("docs/events.md");
}

#[test]
fn documented_value_sets_match_the_label_enums() {
    let code: BTreeMap<&str, Vec<String>> = [
        ("route", names(Route::ALL, Route::as_str)),
        ("method", names(Method::ALL, Method::as_str)),
        (
            "request_outcome",
            names(RequestOutcome::ALL, RequestOutcome::as_str),
        ),
        (
            "stream_outcome",
            names(StreamOutcome::ALL, StreamOutcome::as_str),
        ),
        (
            "reject_reason",
            names(RejectReason::ALL, RejectReason::as_str),
        ),
        (
            "restart_reason",
            names(RestartReason::ALL, RestartReason::as_str),
        ),
        (
            "upstream_error_kind",
            names(UpstreamErrorKind::ALL, UpstreamErrorKind::as_str),
        ),
        ("rpc_method", names(RpcMethod::ALL, RpcMethod::as_str)),
        ("rpc_outcome", names(RpcOutcome::ALL, RpcOutcome::as_str)),
        (
            "readiness_reason",
            names(ReadinessReason::ALL, ReadinessReason::as_str),
        ),
        (
            "protocol_error_kind",
            names(ProtocolErrorKind::ALL, ProtocolErrorKind::as_str),
        ),
        (
            "server_request_kind",
            names(ServerRequestKind::ALL, ServerRequestKind::as_str),
        ),
        (
            "server_request_answer",
            names(ServerRequestAnswer::ALL, ServerRequestAnswer::as_str),
        ),
        (
            "shutdown_phase",
            names(ShutdownPhase::ALL, ShutdownPhase::as_str),
        ),
        ("slot_state", names(SlotState::ALL, SlotState::as_str)),
        (
            "followup_path",
            names(
                codexd_actors::tools::FollowupPath::ALL,
                codexd_actors::tools::FollowupPath::as_str,
            ),
        ),
        (
            "replay_reason",
            names(
                codexd_actors::tools::ReplayReason::ALL,
                codexd_actors::tools::ReplayReason::as_str,
            ),
        ),
        (
            "park_discard",
            names(
                codexd_actors::tools::ParkDiscard::ALL,
                codexd_actors::tools::ParkDiscard::as_str,
            ),
        ),
        (
            "recycle_reason",
            names(RecycleReason::ALL, RecycleReason::as_str),
        ),
        (
            "retry_reason",
            names(
                codexd_actors::retry::RetryReason::ALL,
                codexd_actors::retry::RetryReason::as_str,
            ),
        ),
        (
            "quota_window",
            names(
                codexd_actors::accounts::quota::QuotaWindow::ALL,
                codexd_actors::accounts::quota::QuotaWindow::as_str,
            ),
        ),
        (
            "account_state",
            names(
                codexd_actors::accounts::state::AccountState::ALL,
                codexd_actors::accounts::state::AccountState::as_str,
            ),
        ),
        (
            "account_cause",
            names(
                codexd_actors::accounts::state::AccountCause::ALL,
                codexd_actors::accounts::state::AccountCause::as_str,
            ),
        ),
        ("component", names(Component::ALL, Component::as_str)),
    ]
    .into_iter()
    .collect();
    let doc = read("docs/events.md");
    let all = tables(&doc);
    let documented: BTreeMap<String, Vec<String>> = tables_headed(&all, "set")
        .iter()
        .flat_map(|t| t.rows.iter())
        .map(|r| (first_tick(cell(r, 0)), ticks(cell(r, 1))))
        .collect();
    let mut p = Problems::default();
    for (name, values) in &code {
        p.check(documented.get(*name) == Some(values), || {
            format!(
                "value set `{name}`: documented {:?}, code {values:?}",
                documented.get(*name)
            )
        });
    }
    for name in documented.keys() {
        p.check(code.contains_key(name.as_str()), || {
            format!("value set `{name}` is documented but not known to tests/docs.rs")
        });
    }
    p.assert_none("docs/events.md");
}
