//! Bearer authentication: scheme case-insensitive, keys compared in constant time, and the
//! loopback-or-token rule for `/metrics`.

use actix_web::HttpRequest;

/// Compares two secrets without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len_diff = a.len() ^ b.len();
    let mut acc = u8::from(len_diff != 0);
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        acc |= x ^ y;
    }
    acc == 0
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &HttpRequest) -> Option<&[u8]> {
    let v = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .as_bytes();
    let (scheme, rest) = v.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// True when the request carries one of `keys` (every key is compared).
pub fn has_key(req: &HttpRequest, keys: &[Vec<u8>]) -> bool {
    let Some(token) = bearer(req) else {
        return false;
    };
    keys.iter()
        .fold(false, |ok, k| ok | constant_time_eq(token, k))
}

/// The API is open when no key is configured (only allowed on loopback by config rules).
pub fn api_allowed(req: &HttpRequest, keys: &[Vec<u8>]) -> bool {
    keys.is_empty() || has_key(req, keys)
}

/// `/metrics`: open from loopback, otherwise only with the metrics token.
pub fn metrics_allowed(req: &HttpRequest, token: Option<&[u8]>) -> bool {
    // `to_canonical` folds IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`) on dual-stack listeners.
    let loopback = req
        .peer_addr()
        .is_some_and(|a| a.ip().to_canonical().is_loopback());
    if loopback {
        return true;
    }
    match (token, bearer(req)) {
        (Some(t), Some(given)) => constant_time_eq(t, given),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_matches_only_equal_secrets() {
        assert!(constant_time_eq(b"sk-demo", b"sk-demo"));
        assert!(!constant_time_eq(b"sk-demo", b"sk-demO"));
        assert!(!constant_time_eq(b"sk-demo", b"sk-dem"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let req = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "bEaReR  sk-demo "))
            .to_http_request();
        assert_eq!(bearer(&req), Some(&b"sk-demo"[..]));
        let basic = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "Basic abc"))
            .to_http_request();
        assert_eq!(bearer(&basic), None);
    }
}
