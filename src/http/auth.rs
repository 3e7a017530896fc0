//! Bearer authentication: scheme case-insensitive, secrets and SHA-256 digests compared in
//! constant time against every configured key, and the loopback-or-token rule for `/metrics`.

use super::authed_key::AuthedKey;
use crate::config::{ApiKey, Secret};
use actix_web::{HttpMessage, HttpRequest};
use sha2::{Digest, Sha256};

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

/// The key `token` belongs to. Every key is compared (no early exit), each in constant time;
/// the token's digest is computed once, and only when some key is a `secret_sha256` one
/// (whether it is computed depends on the configuration, never on the token).
pub fn find_key<'k>(token: &[u8], keys: &'k [ApiKey]) -> Option<&'k ApiKey> {
    let digest: Option<[u8; 32]> = keys
        .iter()
        .any(|k| matches!(k.secret, Secret::Sha256(_)))
        .then(|| Sha256::digest(token).into());
    keys.iter().fold(None, |found, k| {
        let matches = match (&k.secret, &digest) {
            (Secret::Plain(s), _) => constant_time_eq(token, s),
            (Secret::Sha256(d), Some(digest)) => constant_time_eq(digest, d),
            (Secret::Sha256(_), None) => false,
        };
        if matches && found.is_none() {
            Some(k)
        } else {
            found
        }
    })
}

/// The key the request's bearer token belongs to, if any.
pub fn authenticate(req: &HttpRequest, keys: &[ApiKey]) -> Option<AuthedKey> {
    if keys.is_empty() {
        return None;
    }
    find_key(bearer(req)?, keys).map(AuthedKey::of)
}

/// The API is open when no key is configured (only allowed on loopback by config rules);
/// otherwise the request must have authenticated (an [`AuthedKey`] in its extensions).
pub fn api_allowed(req: &HttpRequest, keys: &[ApiKey]) -> bool {
    keys.is_empty() || req.extensions().contains::<AuthedKey>()
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
    fn keys_match_by_secret_or_digest() {
        use crate::config::KeyLimits;
        use std::sync::Arc;
        let key = |id: &str, secret| ApiKey {
            id: Arc::from(id),
            secret,
            limits: KeyLimits::default(),
            admin: false,
        };
        let digest: [u8; 32] = Sha256::digest(b"sk-hashed").into();
        let keys = vec![
            key("plain", Secret::Plain(b"sk-plain".to_vec())),
            key("hashed", Secret::Sha256(digest)),
        ];
        let id = |t: &[u8]| find_key(t, &keys).map(|k| k.id.to_string());
        assert_eq!(id(b"sk-plain").as_deref(), Some("plain"));
        assert_eq!(id(b"sk-hashed").as_deref(), Some("hashed"));
        assert_eq!(id(b"sk-other"), None);
        // The digest itself is not a secret that authenticates.
        assert_eq!(id(&digest), None);
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
