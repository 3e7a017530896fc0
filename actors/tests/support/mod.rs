//! The in-process harness, kept apart from the cases: the demo worker launched on in-memory
//! pipes, a scripted worker for what it cannot express, a recording bus subscriber with
//! bounded waits, and the actor tree in a `System`.

pub mod events;
pub mod launcher;
pub mod scripted;
pub mod system;

pub use launcher::{DemoLauncher, FIRST_PID};
pub use scripted::{basics, ScriptedLauncher, SCRIPTED_PID};
pub use system::{drain_output, ids, Harness, Options};
