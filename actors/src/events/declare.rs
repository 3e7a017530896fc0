//! How an event is declared: the `events!` macro writes a domain's enum, each variant's
//! metadata (snake_case name derived from the variant, level, component, fixed message) and
//! its log fields in one place, and generates `meta()`, the slog field serialisation and the
//! list of names. `LogValue` says how each field type is written on a log line.

use crate::label_enum;
use crate::label_enum::Label;
use crate::turn::{ReqIds, TokenUsage};
use slog::{Key, Level, Serializer};

label_enum!(
    /// Log components.
    Component {
        Runtime => "runtime",
        Config => "config",
        Http => "http",
        Stream => "stream",
        Worker => "worker",
        Supervisor => "supervisor",
        Health => "health",
        Metrics => "metrics",
        Tracing => "tracing",
    }
);

/// Static metadata of one event: its name, level, component and fixed message.
pub struct Meta {
    pub name: &'static str,
    pub level: Level,
    pub component: Component,
    pub msg: &'static str,
}

/// How one event field is written on its log line under `key`.
pub trait LogValue {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result;
}

impl<T: Label> LogValue for T {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        s.emit_str(key, self.as_str())
    }
}

macro_rules! plain {
    ($($ty:ty => $method:ident),* $(,)?) => {
        $(impl LogValue for $ty {
            fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
                s.$method(key, *self)
            }
        })*
    };
}
plain!(bool => emit_bool, u16 => emit_u16, u32 => emit_u32, u64 => emit_u64, usize => emit_usize);

impl LogValue for &'static str {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        s.emit_str(key, self)
    }
}

impl LogValue for String {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        s.emit_str(key, self)
    }
}

/// Durations in milliseconds, to the microsecond.
impl LogValue for f64 {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        s.emit_f64(key, (self * 1000.0).round() / 1000.0)
    }
}

/// A missing number is written as `null`.
impl LogValue for Option<f64> {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Some(v) => v.emit(key, s),
            None => s.emit_none(key),
        }
    }
}

/// A missing number is written as `null`.
impl LogValue for Option<u64> {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Some(v) => s.emit_u64(key, *v),
            None => s.emit_none(key),
        }
    }
}

/// A missing number is written as `null`.
impl LogValue for Option<i32> {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Some(v) => s.emit_i32(key, *v),
            None => s.emit_none(key),
        }
    }
}

/// A missing string is left out.
impl LogValue for Option<String> {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Some(v) => s.emit_str(key, v),
            None => Ok(()),
        }
    }
}

/// A missing string is left out.
impl LogValue for Option<&'static str> {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Some(v) => s.emit_str(key, v),
            None => Ok(()),
        }
    }
}

/// The request ids are written as `req_id`, `trace_id`, `span_id` and, when the request
/// authenticated with a key, `key_id` (the key is unused).
impl LogValue for ReqIds {
    fn emit(&self, _: Key, s: &mut dyn Serializer) -> slog::Result {
        s.emit_str("req_id", &self.req_id)?;
        s.emit_str("trace_id", &self.trace_id)?;
        s.emit_str("span_id", &self.span_id)?;
        match &self.key_id {
            Some(id) => s.emit_str("key_id", id),
            None => Ok(()),
        }
    }
}

/// Request ids, when the event belongs to a request.
impl LogValue for Option<ReqIds> {
    fn emit(&self, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Some(ids) => ids.emit(key, s),
            None => Ok(()),
        }
    }
}

/// Token usage is written as `input_tokens`, `output_tokens`, `cached_input_tokens` and
/// `reasoning_tokens` (the key is unused).
impl LogValue for TokenUsage {
    fn emit(&self, _: Key, s: &mut dyn Serializer) -> slog::Result {
        s.emit_u64("input_tokens", self.input)?;
        s.emit_u64("output_tokens", self.output)?;
        s.emit_u64("cached_input_tokens", self.cached_input)?;
        s.emit_u64("reasoning_tokens", self.reasoning)
    }
}

/// The length of `camel` in snake_case.
pub const fn snake_len(camel: &str) -> usize {
    let b = camel.as_bytes();
    let mut n = b.len();
    let mut i = 1;
    while i < b.len() {
        if b[i].is_ascii_uppercase() {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `camel` (an ASCII CamelCase identifier) in snake_case; `N` is `snake_len(camel)`.
pub const fn snake<const N: usize>(camel: &str) -> [u8; N] {
    let b = camel.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut j) = (0, 0);
    while i < b.len() {
        if b[i].is_ascii_uppercase() {
            if i > 0 {
                out[j] = b'_';
                j += 1;
            }
            out[j] = b[i].to_ascii_lowercase();
        } else {
            out[j] = b[i];
        }
        i += 1;
        j += 1;
    }
    out
}

/// Joins the domains' name lists; `N` is the sum of their lengths.
pub const fn concat<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut k) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            j += 1;
            k += 1;
        }
        i += 1;
    }
    out
}

/// The snake_case name of a variant, computed at compile time.
macro_rules! snake_name {
    ($v:ident) => {{
        const BYTES: [u8; $crate::events::declare::snake_len(stringify!($v))] =
            $crate::events::declare::snake(stringify!($v));
        const NAME: &str = match ::std::str::from_utf8(&BYTES) {
            Ok(name) => name,
            Err(_) => "",
        };
        NAME
    }};
}
pub(crate) use snake_name;

/// Writes one field: under its own name, under another (`=> "key"`), or not at all (`=> _`,
/// for fields only spans or metrics read). Logs spell the slot index `worker`, as
/// `docs/events.md` publishes it: a field that would be logged as `slot` does not compile.
macro_rules! log_field {
    ($s:ident, slot) => {
        compile_error!(
            "logs spell the slot index `worker`: declare it as `slot: usize => \"worker\"`"
        )
    };
    ($s:ident, $f:ident => "slot") => {
        compile_error!("logs spell the slot index `worker`, never `slot`")
    };
    ($s:ident, $f:ident) => {
        $crate::events::declare::LogValue::emit($f, stringify!($f), $s)?
    };
    ($s:ident, $f:ident => _) => {
        let _ = $f;
    };
    ($s:ident, $f:ident => $key:literal) => {
        $crate::events::declare::LogValue::emit($f, $key, $s)?
    };
}
pub(crate) use log_field;

/// Declares a struct whose fields an event writes inline (a summary carried boxed), with the
/// same field syntax as `events!`.
macro_rules! log_struct {
    (
        $(#[$m:meta])* pub struct $name:ident {
            $( $(#[$fm:meta])* $f:ident : $t:ty $(=> $key:tt)? ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        pub struct $name { $( $(#[$fm])* pub $f: $t ),* }

        impl $crate::events::declare::LogValue for $name {
            fn emit(&self, _: slog::Key, s: &mut dyn slog::Serializer) -> slog::Result {
                let Self { $($f),* } = self;
                $( $crate::events::declare::log_field!(s, $f $(=> $key)?); )*
                Ok(())
            }
        }

        /// A boxed summary writes its own fields.
        impl $crate::events::declare::LogValue for Box<$name> {
            fn emit(&self, key: slog::Key, s: &mut dyn slog::Serializer) -> slog::Result {
                $crate::events::declare::LogValue::emit(&**self, key, s)
            }
        }
    };
}
pub(crate) use log_struct;

/// Declares one domain's events. Each variant is written once:
///
/// ```text
/// /// doc
/// Name { field: Type, renamed: Type => "log_key", span_only: Type => _ }
///     => level, Component, "fixed message" [, const_field = "value"]*;
/// Unit => level, Component, "message";
/// Boxed(binding: Box<Summary>) => level, Component, "message";
/// ```
///
/// The level is an expression over the variant's fields (`Info`, or
/// `if *timed_out { Warning } else { Info }`); the name is the variant in snake_case.
macro_rules! events {
    (
        $(#[$m:meta])* pub enum $name:ident {
            $(
                $(#[$vm:meta])*
                $v:ident
                $({ $( $(#[$fm:meta])* $f:ident : $t:ty $(=> $key:tt)? ),* $(,)? })?
                $(( $b:ident : $bt:ty ))?
                => $level:expr, $component:ident, $msg:literal $(, $ck:ident = $cv:literal)* ;
            )+
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        pub enum $name {
            $( $(#[$vm])* $v $({ $( $(#[$fm])* $f: $t ),* })? $(($bt))? ),+
        }

        impl $name {
            /// Every event name of this domain, in declaration order.
            pub const NAMES: &'static [&'static str] =
                &[$($crate::events::declare::snake_name!($v)),+];

            /// The event's name, level, component and message.
            pub fn meta(&self) -> $crate::events::declare::Meta {
                use slog::Level::*;
                match self {
                    $(
                        Self::$v $({ $($f),* })? $(($b))? => {
                            $($( let _ = $f; )*)?
                            $( let _ = $b; )?
                            $crate::events::declare::Meta {
                                name: $crate::events::declare::snake_name!($v),
                                level: $level,
                                component: $crate::events::declare::Component::$component,
                                msg: $msg,
                            }
                        }
                    )+
                }
            }

            /// Writes the event's fields on its log line.
            pub fn log_fields(&self, s: &mut dyn slog::Serializer) -> slog::Result {
                match self {
                    $(
                        Self::$v $({ $($f),* })? $(($b))? => {
                            $($( $crate::events::declare::log_field!(s, $f $(=> $key)?); )*)?
                            $( $crate::events::declare::LogValue::emit($b, stringify!($b), s)?; )?
                            $( s.emit_str(stringify!($ck), $cv)?; )*
                            Ok(())
                        }
                    )+
                }
            }
        }
    };
}
pub(crate) use events;

#[cfg(test)]
mod tests {
    use crate::events::CATALOGUE;

    #[test]
    fn names_are_the_variants_in_snake_case() {
        assert_eq!(snake_name!(WorkerRpcCompleted), "worker_rpc_completed");
        assert_eq!(snake_name!(Ready), "ready");
        assert_eq!(CATALOGUE.first(), Some(&"daemon_started"));
        assert_eq!(CATALOGUE.last(), Some(&"readiness_changed"));
        let distinct: std::collections::BTreeSet<_> = CATALOGUE.iter().collect();
        assert_eq!(
            distinct.len(),
            CATALOGUE.len(),
            "an event name is declared twice"
        );
    }
}
