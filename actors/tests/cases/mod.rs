//! The cases, one file per behaviour family.

mod admission;
mod bus_inline;
mod drain;
mod hung;
mod interrupt;
mod readiness;
mod restarts;
mod scripted;
mod spawn_resources;
mod threads;
mod worker_lost;
