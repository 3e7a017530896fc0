//! The route table: every route the daemon serves, declared once with its method, path
//! template, traffic class and listener. Registration (`server.rs`), request matching and the
//! `route` label (`access.rs`), and the metrics collector's pre-registered series all derive
//! from it. Also HTTP's other closed label sets: methods and status classes. The actors get
//! opaque labels (`RouteLabel`, `MethodLabel`), never these types.

use codexd_actors::ingress::{MethodLabel, RouteClass, RouteLabel};

codexd_actors::label_enum!(
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
        Method::ALL
            .iter()
            .copied()
            .find(|m| *m != Method::Other && m.as_str() == name)
            .unwrap_or(Method::Other)
    }

    /// The label the actors carry.
    pub const fn label(self) -> MethodLabel {
        MethodLabel::new(self.as_str())
    }

    /// The actix-web method, for registration (`None` for `other`).
    pub fn http(self) -> Option<actix_web::http::Method> {
        use actix_web::http::Method as M;
        match self {
            Method::Get => Some(M::GET),
            Method::Post => Some(M::POST),
            Method::Head => Some(M::HEAD),
            Method::Options => Some(M::OPTIONS),
            Method::Put => Some(M::PUT),
            Method::Delete => Some(M::DELETE),
            Method::Patch => Some(M::PATCH),
            Method::Other => None,
        }
    }
}

/// Which listener serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The API listener only.
    Api,
    /// Every listener.
    Any,
    /// The listener that serves the scrape: the metrics listener when one is configured,
    /// else the API listener.
    Scrape,
}

/// One served route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: Method,
    /// The path template (actix-web syntax), also the `route` label value.
    pub template: &'static str,
    pub class: RouteClass,
    pub listener: Listener,
}

macro_rules! routes {
    ($( $(#[$m:meta])* $v:ident => $method:ident $template:literal, $class:ident, $listener:ident; )+) => {
        /// A served route, or `Other` for anything no route matches.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $( $(#[$m])* $v, )+
            /// Anything no route matches (labelled `other`).
            Other,
        }

        impl Route {
            /// Every route label value, in table order, `other` last.
            pub const ALL: &'static [Route] = &[$(Route::$v,)+ Route::Other];

            /// The route's entry in the table (`None` for `Other`).
            pub const fn endpoint(self) -> Option<Endpoint> {
                match self {
                    $(Route::$v => Some(Endpoint {
                        method: Method::$method,
                        template: $template,
                        class: RouteClass::$class,
                        listener: Listener::$listener,
                    }),)+
                    Route::Other => None,
                }
            }
        }
    };
}

routes! {
    ChatCompletions => Post "/v1/chat/completions", Generation, Api;
    Responses => Post "/v1/responses", Generation, Api;
    Models => Get "/v1/models", Api, Api;
    Model => Get "/v1/models/{id}", Api, Api;
    /// The usage ledger; an `admin = true` key only.
    Usage => Get "/v1/usage", Api, Api;
    /// Probes: no auth, never counted as API traffic.
    Livez => Get "/livez", Operational, Any;
    Readyz => Get "/readyz", Operational, Any;
    Healthz => Get "/healthz", Operational, Any;
    /// Loopback or the metrics token.
    Metrics => Get "/metrics", Operational, Scrape;
}

impl Route {
    /// The matched route template, or `other`: the `route` label value.
    pub const fn as_str(self) -> &'static str {
        match self.endpoint() {
            Some(e) => e.template,
            None => "other",
        }
    }

    pub const fn class(self) -> RouteClass {
        match self.endpoint() {
            Some(e) => e.class,
            None => RouteClass::Api,
        }
    }

    /// Probe and scrape routes log at debug and are not API traffic.
    pub const fn is_operational(self) -> bool {
        matches!(self.class(), RouteClass::Operational)
    }

    /// The label the actors carry.
    pub const fn label(self) -> RouteLabel {
        RouteLabel::new(self.as_str(), self.class())
    }

    /// The route a request is for, matched against the table as the router does: the method
    /// exactly (the routes do not answer HEAD, so a HEAD request is `other`), literal
    /// segments exactly, a `{param}` segment by any non-empty segment.
    pub fn of(method: &actix_web::http::Method, path: &str) -> Route {
        Route::ALL
            .iter()
            .copied()
            .find(|r| {
                r.endpoint().is_some_and(|e| {
                    e.method.as_str() == method.as_str() && template_matches(e.template, path)
                })
            })
            .unwrap_or(Route::Other)
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    // A literal template (every route but one) matches only its own path.
    if template == path {
        return true;
    }
    if !template.contains('{') {
        return false;
    }
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) => {
                let param = ts.starts_with('{') && ts.ends_with('}');
                if (param && ps.is_empty()) || (!param && ts != ps) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Every route label, for the metrics collector's pre-registered series.
pub fn labels() -> Vec<RouteLabel> {
    Route::ALL.iter().map(|r| r.label()).collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method as M;

    #[test]
    fn requests_match_the_table_or_fold_to_other() {
        for (method, path, want) in [
            (M::POST, "/v1/chat/completions", Route::ChatCompletions),
            (M::GET, "/v1/chat/completions", Route::Other),
            (M::GET, "/v1/models", Route::Models),
            (M::GET, "/v1/models/codex-demo", Route::Model),
            (M::GET, "/v1/models/", Route::Other),
            (M::GET, "/v1/models/a/b", Route::Other),
            (M::HEAD, "/livez", Route::Other),
            (M::GET, "/metrics", Route::Metrics),
            (M::GET, "/v1/usage", Route::Usage),
            (M::GET, "/nope", Route::Other),
        ] {
            assert_eq!(Route::of(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn methods_fold_to_the_closed_set() {
        assert_eq!(Method::parse("PATCH"), Method::Patch);
        assert_eq!(Method::parse("other"), Method::Other);
        assert_eq!(Method::parse("BREW"), Method::Other);
    }
}
