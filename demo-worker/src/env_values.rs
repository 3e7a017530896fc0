//! Parsers for the values of `CODEXD_DEMO_*` variables; errors are the text after the variable name.

use std::time::Duration;

use crate::config::{ApprovalKind, Handshake, UpstreamError};

pub fn number(v: &str) -> Result<u64, String> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| format!("invalid value `{v}`: expected a non-negative integer"))
}

pub fn count(v: &str) -> Result<usize, String> {
    number(v).map(|n| n as usize)
}

pub fn positive(v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("invalid value `{v}`: expected an integer >= 1")),
    }
}

pub fn millis(v: &str) -> Result<Option<Duration>, String> {
    Ok(match number(v)? {
        0 => None,
        ms => Some(Duration::from_millis(ms)),
    })
}

pub fn exit_code(v: &str) -> Result<i32, String> {
    match number(v)? {
        n @ 0..=255 => Ok(n as i32),
        _ => Err(format!(
            "invalid value `{v}`: expected an exit code 0..=255"
        )),
    }
}

pub fn flag(v: &str) -> Result<bool, String> {
    match v.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(format!("invalid value `{v}`: expected 1 or 0")),
    }
}

pub fn handshake(v: &str) -> Result<Handshake, String> {
    match v.trim() {
        "ok" => Ok(Handshake::Ok),
        "hang" => Ok(Handshake::Hang),
        "error" => Ok(Handshake::Error),
        other => match other.strip_prefix("delay:") {
            Some(ms) => Ok(millis(ms)?.map_or(Handshake::Ok, Handshake::Delay)),
            None => Err(format!(
                "invalid value `{v}`: expected ok, delay:<ms>, hang or error"
            )),
        },
    }
}

pub fn upstream(v: &str) -> Result<UpstreamError, String> {
    match v.trim() {
        "rate_limited" => Ok(UpstreamError::RateLimited),
        "unauthorized" => Ok(UpstreamError::Unauthorized),
        "server_error" => Ok(UpstreamError::ServerError),
        "context_length" => Ok(UpstreamError::ContextLength),
        "other" => Ok(UpstreamError::Other),
        "usage_limit" => Ok(UpstreamError::UsageLimit),
        other => match other.strip_prefix("http_status:").map(str::parse::<u16>) {
            Some(Ok(code)) if (100..=599).contains(&code) => Ok(UpstreamError::HttpStatus(code)),
            _ => Err(format!(
                "invalid value `{v}`: expected rate_limited, unauthorized, server_error, \
                 context_length, other, usage_limit or http_status:<100..=599>"
            )),
        },
    }
}

pub fn approval(v: &str) -> Result<ApprovalKind, String> {
    match v.trim() {
        "command" => Ok(ApprovalKind::Command),
        "file_change" => Ok(ApprovalKind::FileChange),
        "user_input" => Ok(ApprovalKind::UserInput),
        "unknown" => Ok(ApprovalKind::Unknown),
        _ => Err(format!(
            "invalid value `{v}`: expected command, file_change, user_input or unknown"
        )),
    }
}

/// `<primary>[,<secondary>]` used percentages (0–100; the secondary defaults to 0).
pub fn percents(v: &str) -> Result<(u32, u32), String> {
    let one = |p: &str| match p.trim().parse::<u32>() {
        Ok(x) if x <= 100 => Ok(x),
        _ => Err(format!(
            "invalid value `{v}`: expected percentages 0-100, like 96 or 96,20"
        )),
    };
    let mut parts = v.split(',');
    let primary = one(parts.next().unwrap_or_default())?;
    let secondary = parts.next().map(one).transpose()?.unwrap_or(0);
    match parts.next() {
        Some(_) => Err(format!("invalid value `{v}`: at most two percentages")),
        None => Ok((primary, secondary)),
    }
}
