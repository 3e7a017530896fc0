//! Closed label sets: every metric label value and every enum-valued log field is one of
//! these. Each enum lists all its values (`ALL`) so docs and tests can check them.

/// Declares a closed label enum with its snake_case wire names.
macro_rules! label_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name used in logs and metric labels.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use label_enum;

/// The outcome enums live with the terminal outcome type; re-exported for `use labels::*`.
pub use crate::outcome::{NoTokenReason, RequestOutcome, StreamOutcome};

label_enum!(
    /// The matched route template, or `other`.
    Route {
        ChatCompletions => "/v1/chat/completions",
        Responses => "/v1/responses",
        Models => "/v1/models",
        Model => "/v1/models/{id}",
        Livez => "/livez",
        Readyz => "/readyz",
        Healthz => "/healthz",
        Metrics => "/metrics",
        Other => "other",
    }
);

impl Route {
    /// Probe and scrape routes log at debug and are not API traffic.
    pub const fn is_operational(self) -> bool {
        matches!(
            self,
            Route::Livez | Route::Readyz | Route::Healthz | Route::Metrics
        )
    }
}

label_enum!(
    /// HTTP methods, folded to a closed set.
    Method {
        Get => "GET",
        Post => "POST",
        Head => "HEAD",
        Options => "OPTIONS",
        Put => "PUT",
        Delete => "DELETE",
        Patch => "PATCH",
        Other => "other",
    }
);

impl Method {
    /// Folds any method name into the closed set.
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }
}

label_enum!(
    /// Why a worker slot is being restarted.
    RestartReason {
        Exit => "exit",
        Signal => "signal",
        HandshakeTimeout => "handshake_timeout",
        HandshakeFailed => "handshake_failed",
        Unresponsive => "unresponsive",
        ProtocolError => "protocol_error",
    }
);

label_enum!(
    /// Errors the worker reports from its model provider.
    UpstreamErrorKind {
        RateLimited => "rate_limited",
        Unauthorized => "unauthorized",
        ServerError => "server_error",
        ContextLength => "context_length",
        Other => "other",
    }
);

label_enum!(
    /// Token counter types.
    TokenType {
        Input => "input",
        Output => "output",
        CachedInput => "cached_input",
        Reasoning => "reasoning",
    }
);

label_enum!(
    /// Why admission turned a request away.
    RejectReason {
        RateLimit => "rate_limit",
        Concurrency => "concurrency",
        QueueFull => "queue_full",
        QueueTimeout => "queue_timeout",
        Draining => "draining",
        NoWorker => "no_worker",
    }
);

label_enum!(
    /// JSON-RPC methods codexd sends to a worker.
    RpcMethod {
        Initialize => "initialize",
        AccountRead => "account/read",
        ThreadStart => "thread/start",
        TurnStart => "turn/start",
        TurnInterrupt => "turn/interrupt",
    }
);

label_enum!(
    /// How one JSON-RPC request to a worker ended.
    RpcOutcome {
        Ok => "ok",
        Error => "error",
        Timeout => "timeout",
        WorkerLost => "worker_lost",
    }
);

label_enum!(
    /// Why the daemon is not ready.
    ReadinessReason {
        Ready => "ready",
        Starting => "starting",
        NoReadyWorkers => "no_ready_workers",
        Draining => "draining",
    }
);

label_enum!(
    /// Kinds of protocol violations by a worker.
    ProtocolErrorKind {
        LineTooLong => "line_too_long",
        InvalidJson => "invalid_json",
        UnexpectedMessage => "unexpected_message",
    }
);

label_enum!(
    /// Server-to-client requests a worker may send, folded to a closed set.
    ServerRequestKind {
        CommandApproval => "command_approval",
        FileChangeApproval => "file_change_approval",
        PermissionsApproval => "permissions_approval",
        UserInput => "user_input",
        ToolCall => "tool_call",
        Elicitation => "elicitation",
        Other => "other",
    }
);

label_enum!(
    /// How codexd answered a server-to-client request.
    ServerRequestAnswer {
        Declined => "declined",
        Accepted => "accepted",
        Unsupported => "unsupported",
    }
);

label_enum!(
    /// The numbered shutdown phases.
    ShutdownPhase {
        ReadinessOff => "readiness_off",
        StopAccepting => "stop_accepting",
        DrainStreams => "drain_streams",
        StopWorkers => "stop_workers",
        FlushTelemetry => "flush_telemetry",
    }
);

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

/// Folds an HTTP status into `1xx`..`5xx`.
pub const fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}
