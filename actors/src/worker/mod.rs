//! Worker supervision: the slot state machine, the restart policy, the app-server protocol,
//! one connection actor per live process, and the supervisor that owns the slots.

pub mod backoff;
pub mod connection;
pub mod labels;
pub mod lease;
pub mod lines;
pub mod models;
pub mod process;
pub mod protocol;
pub mod recycle;
pub mod state;
pub mod supervisor;
pub mod turn_options;

pub use lease::Lease;
pub use supervisor::{SupervisorSettings, WorkerSupervisor};
