//! The labels the HTTP front end hands the actors for a request: an opaque route label and an
//! opaque method label, both taken from the closed tables in `src/http/routes.rs`. The actors
//! never see HTTP types; they only read a label's wire name and its route class. A leaf.

use crate::label_enum::Label;

/// What kind of traffic a route carries; decides which series and log levels apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// Runs turns on a worker: streams, first-token and overhead series.
    Generation,
    /// Other API traffic (catalogue reads, and `other` for unmatched requests).
    Api,
    /// Probes and the scrape: logged at debug, never counted as API traffic.
    Operational,
}

/// A route label: the matched route template (the `route` label value), or `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteLabel {
    name: &'static str,
    class: RouteClass,
}

impl RouteLabel {
    /// A label for one entry of the front end's route table.
    pub const fn new(name: &'static str, class: RouteClass) -> Self {
        Self { name, class }
    }

    /// The wire name used in logs and metric labels.
    pub const fn as_str(self) -> &'static str {
        self.name
    }

    pub const fn class(self) -> RouteClass {
        self.class
    }

    /// Probe and scrape routes log at debug and are not API traffic.
    pub const fn is_operational(self) -> bool {
        matches!(self.class, RouteClass::Operational)
    }

    /// Routes whose requests run turns (and so have stream series).
    pub const fn runs_turns(self) -> bool {
        matches!(self.class, RouteClass::Generation)
    }
}

impl Label for RouteLabel {
    fn as_str(self) -> &'static str {
        self.name
    }
}

/// An HTTP method label from the front end's closed method set (`GET` .. `other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodLabel(&'static str);

impl MethodLabel {
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl Label for MethodLabel {
    fn as_str(self) -> &'static str {
        self.0
    }
}
