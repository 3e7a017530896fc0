//! Route: `GET /v1/usage?key=&model=&from=&to=`, the usage ledger's rows (key × model × UTC
//! day). Only an `admin = true` key may read it: 401 without a valid key, 403 for another
//! key. Dates are `YYYY-MM-DD` (inclusive); a bad one is a 400 naming its parameter.

use super::access::RequestFacts;
use super::authed_key::AuthedKey;
use super::errors::ApiError;
use super::state::AppState;
use crate::usage::store::Filter;
use crate::usage::{day, format};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

/// How long a read may wait on the ledger thread (it writes what is pending first).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

fn fail(req: &HttpRequest, e: ApiError) -> HttpResponse {
    let facts = req.extensions().get::<Arc<RequestFacts>>().cloned();
    if let Some(f) = &facts {
        f.set_error(&e, false);
    }
    e.response(facts.as_ref().map_or("", |f| f.ids.req_id.as_str()))
}

/// The filter of a query string, or the 400 naming the bad parameter.
pub fn parse_filter(query: &str) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    for (name, value) in url_pairs(query) {
        let slot = match name.as_str() {
            "key" => &mut f.key,
            "model" => &mut f.model,
            "from" => &mut f.from,
            "to" => &mut f.to,
            _ => continue,
        };
        if value.is_empty() {
            continue;
        }
        let value = if name == "from" || name == "to" {
            day::parse_day(&value).ok_or_else(|| {
                ApiError::field(&name, format!("`{name}` must be a date as YYYY-MM-DD."))
            })?
        } else {
            value
        };
        *slot = Some(value);
    }
    if let (Some(from), Some(to)) = (&f.from, &f.to) {
        if from > to {
            return Err(ApiError::field("from", "`from` must not be after `to`."));
        }
    }
    Ok(f)
}

/// Decodes `a=b&c=d` (percent escapes and `+`).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match AuthedKey::from_request(&req) {
        None => return fail(&req, ApiError::Unauthorized),
        Some(k) if !k.admin => return fail(&req, ApiError::Forbidden),
        Some(_) => {}
    }
    let filter = match parse_filter(req.query_string()) {
        Ok(f) => f,
        Err(e) => return fail(&req, e),
    };
    let Some(ledger) = state.usage.clone() else {
        return fail(&req, ApiError::UsageUnavailable);
    };
    match ledger.query(filter, READ_TIMEOUT).await {
        Ok(rows) => HttpResponse::Ok().json(format::to_json(&rows)),
        Err(_) => fail(&req, ApiError::UsageUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_bad_dates_name_their_parameter() {
        let f = parse_filter("key=team-a&model=codex%2Ddemo&from=2026-01-01&to=2026-01-31&x=1")
            .unwrap();
        assert_eq!(f.key.as_deref(), Some("team-a"));
        assert_eq!(f.model.as_deref(), Some("codex-demo"));
        assert_eq!(f.from.as_deref(), Some("2026-01-01"));
        assert_eq!(f.to.as_deref(), Some("2026-01-31"));
        assert_eq!(parse_filter("").unwrap(), Filter::default());
        for (q, param) in [
            ("from=2026-13-01", "from"),
            ("to=yesterday", "to"),
            ("from=2026-02-02&to=2026-02-01", "from"),
        ] {
            assert_eq!(parse_filter(q).unwrap_err().param(), Some(param), "{q}");
        }
    }
}
