//! The in-process harness, kept apart from the cases: the demo worker launched on in-memory
//! pipes, a recording bus subscriber with bounded waits, and the actor tree in a `System`.

pub mod events;
pub mod launcher;
pub mod system;

pub use launcher::{DemoLauncher, FIRST_PID};
pub use system::{drain_output, ids, Harness, Options};
