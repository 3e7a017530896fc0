//! The worker domain's closed label sets: slot states, restart causes, the JSON-RPC methods
//! and outcomes, protocol violations, server requests and their answers, the errors a worker
//! reports from its provider, and why admission turned a request away. A leaf: it imports
//! only the label macro, so events can name these without importing the worker actors.

use crate::label_enum;

label_enum!(
    /// The state of one worker slot, as `/healthz` shows it.
    SlotState {
        Starting => "starting",
        Handshaking => "handshaking",
        Ready => "ready",
        Busy => "busy",
        BackingOff => "backing_off",
        Failed => "failed",
        Stopping => "stopping",
        Stopped => "stopped",
    }
);

label_enum!(
    /// Why a worker slot is being restarted. `spawn_failed_resources`: the process could not
    /// even be started because the host ran out of a resource (descriptors, memory, processes).
    RestartReason {
        Exit => "exit",
        Signal => "signal",
        HandshakeTimeout => "handshake_timeout",
        HandshakeFailed => "handshake_failed",
        Unresponsive => "unresponsive",
        ProtocolError => "protocol_error",
        SpawnFailedResources => "spawn_failed_resources",
        Recycled => "recycled",
    }
);

label_enum!(
    /// Why a worker was recycled (drained, then restarted outside the restart-intensity
    /// window).
    RecycleReason {
        Turns => "turns",
        Age => "age",
        Memory => "memory",
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
    /// Why admission turned a request away.
    RejectReason {
        RateLimit => "rate_limit",
        Concurrency => "concurrency",
        QueueFull => "queue_full",
        QueueTimeout => "queue_timeout",
        Draining => "draining",
        NoWorker => "no_worker",
        QuotaExhausted => "quota_exhausted",
    }
);

label_enum!(
    /// JSON-RPC methods codexd sends to a worker.
    RpcMethod {
        Initialize => "initialize",
        AccountRead => "account/read",
        AccountRateLimitsRead => "account/rateLimits/read",
        ThreadStart => "thread/start",
        TurnStart => "turn/start",
        TurnInterrupt => "turn/interrupt",
        ThreadUnsubscribe => "thread/unsubscribe",
        ThreadLoadedList => "thread/loaded/list",
        ThreadInjectItems => "thread/inject_items",
        ModelList => "model/list",
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
