//! Reading the settings from `CODEXD_DEMO_*` environment variables, parsed and validated once;
//! a typo or bad value names the variable.

use std::ffi::OsString;
use std::fmt;

use crate::config::Config;
use crate::env_values::{
    approval, count, exit_code, flag, handshake, millis, number, percents, positive, upstream,
};

/// Prefix shared by every variable this module reads.
pub const PREFIX: &str = "CODEXD_DEMO_";

/// A variable that could not be used; names the full variable so the one stderr line is actionable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars_os())
    }

    /// Parses `(name, value)` pairs; names without the prefix are ignored, unknown prefixed names
    /// are rejected so a typo cannot silently disable a fault.
    pub fn from_vars<I>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (OsString, OsString)>,
    {
        let mut config = Config::default();
        let mut error_after_chunks: Option<usize> = None;
        for (name, value) in vars {
            let Some(name) = name.to_str() else { continue };
            let Some(short) = name.strip_prefix(PREFIX) else {
                continue;
            };
            let err = |message: String| ConfigError {
                key: name.to_owned(),
                message,
            };
            let value = value
                .into_string()
                .map_err(|_| err("value is not valid UTF-8".to_owned()))?;
            // Empty means unset (Makefiles export empty variables), except for the reply text.
            if value.is_empty() && short != "REPLY" {
                continue;
            }
            let v = value.as_str();
            match short {
                "REPLY" => config.reply = Some(value.clone()),
                "CHUNKS" => config.chunks = positive(v).map_err(err)? as usize,
                "CHUNK_INTERVAL_MS" => config.chunk_interval = millis(v).map_err(err)?,
                "FIRST_TOKEN_DELAY_MS" => config.first_token_delay = millis(v).map_err(err)?,
                "HANDSHAKE" => config.handshake = handshake(v).map_err(err)?,
                "EXIT_ON_START" => config.exit_on_start = Some(exit_code(v).map_err(err)?),
                "EXIT_AFTER_TURNS" => config.exit_after_turns = Some(positive(v).map_err(err)?),
                "CRASH_AFTER_CHUNKS" => config.crash_after_chunks = Some(count(v).map_err(err)?),
                "STALL_AFTER_REQUESTS" => {
                    config.stall_after_requests = Some(number(v).map_err(err)?);
                }
                "GARBAGE_LINE" => config.garbage_line = flag(v).map_err(err)?,
                "OVERSIZED_LINE_BYTES" => {
                    config.oversized_line_bytes = Some(positive(v).map_err(err)? as usize);
                }
                "STDERR_FLOOD_LINES" => config.stderr_flood_lines = number(v).map_err(err)?,
                "STDERR_CANARY" => config.stderr_canary = value.clone(),
                "UPSTREAM_ERROR" => config.upstream_error = Some(upstream(v).map_err(err)?),
                "UPSTREAM_ERROR_AFTER_CHUNKS" => error_after_chunks = Some(count(v).map_err(err)?),
                "APPROVAL_REQUEST" => config.approval = Some(approval(v).map_err(err)?),
                "CACHED_TOKENS" => config.cached_tokens = number(v).map_err(err)?,
                "REASONING_TOKENS" => config.reasoning_tokens = number(v).map_err(err)?,
                "EXTRA_NOTIFICATIONS" => config.extra_notifications = flag(v).map_err(err)?,
                "RATE_LIMITS" => config.rate_limits = Some(percents(v).map_err(err)?),
                "RATE_LIMITS_RESET_S" => config.rate_limits_reset_s = number(v).map_err(err)?,
                "RATE_LIMITS_STEP" => config.rate_limits_step = Some(percents(v).map_err(err)?.0),
                "USAGE_LIMIT_RESET_S" => config.usage_limit_reset_s = number(v).map_err(err)?,
                "LOGGED_OUT" => config.logged_out = flag(v).map_err(err)?,
                "ACCOUNT_EMAIL" => config.account_email = Some(value.clone()),
                "GROW_BYTES_PER_TURN" => {
                    config.grow_bytes_per_turn = number(v).map_err(err)? as usize;
                }
                _ => return Err(err("unknown demo worker variable".to_owned())),
            }
        }
        if let Some(n) = error_after_chunks {
            if config.upstream_error.is_none() {
                return Err(ConfigError {
                    key: format!("{PREFIX}UPSTREAM_ERROR_AFTER_CHUNKS"),
                    message: format!("has no effect without {PREFIX}UPSTREAM_ERROR"),
                });
            }
            config.upstream_error_after_chunks = n;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApprovalKind, Handshake, UpstreamError, DEFAULT_CANARY};
    use std::time::Duration;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().map(|(k, v)| (k.into(), v.into())))
    }

    #[test]
    fn an_empty_environment_gives_the_defaults() {
        let config = parse(&[("PATH", "/bin"), ("CODEXD_OTHER", "x")]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.chunks, 5);
        assert_eq!(config.stderr_canary, DEFAULT_CANARY);
    }

    #[test]
    fn every_mode_parses() {
        let config = parse(&[
            ("CODEXD_DEMO_REPLY", ""),
            ("CODEXD_DEMO_CHUNKS", "3"),
            ("CODEXD_DEMO_CHUNK_INTERVAL_MS", "0"),
            ("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "250"),
            ("CODEXD_DEMO_HANDSHAKE", "delay:40"),
            ("CODEXD_DEMO_EXIT_ON_START", "7"),
            ("CODEXD_DEMO_EXIT_AFTER_TURNS", "2"),
            ("CODEXD_DEMO_CRASH_AFTER_CHUNKS", "0"),
            ("CODEXD_DEMO_STALL_AFTER_REQUESTS", "0"),
            ("CODEXD_DEMO_GARBAGE_LINE", "1"),
            ("CODEXD_DEMO_OVERSIZED_LINE_BYTES", "1048576"),
            ("CODEXD_DEMO_STDERR_FLOOD_LINES", "10"),
            ("CODEXD_DEMO_UPSTREAM_ERROR", "http_status:401"),
            ("CODEXD_DEMO_UPSTREAM_ERROR_AFTER_CHUNKS", "2"),
            ("CODEXD_DEMO_APPROVAL_REQUEST", "file_change"),
            ("CODEXD_DEMO_CACHED_TOKENS", "12"),
            ("CODEXD_DEMO_EXTRA_NOTIFICATIONS", "true"),
        ])
        .unwrap();
        assert_eq!(config.reply.as_deref(), Some(""));
        assert_eq!(config.chunks, 3);
        assert_eq!(config.chunk_interval, None);
        assert_eq!(config.first_token_delay, Some(Duration::from_millis(250)));
        assert_eq!(
            config.handshake,
            Handshake::Delay(Duration::from_millis(40))
        );
        assert_eq!(config.exit_on_start, Some(7));
        assert_eq!(config.crash_after_chunks, Some(0));
        assert_eq!(config.stall_after_requests, Some(0));
        assert!(config.garbage_line && config.extra_notifications);
        assert_eq!(config.upstream_error, Some(UpstreamError::HttpStatus(401)));
        assert_eq!(config.upstream_error_after_chunks, 2);
        assert_eq!(config.approval, Some(ApprovalKind::FileChange));
    }

    #[test]
    fn the_account_modes_parse() {
        let config = parse(&[
            ("CODEXD_DEMO_RATE_LIMITS", "96,20"),
            ("CODEXD_DEMO_RATE_LIMITS_RESET_S", "40"),
            ("CODEXD_DEMO_RATE_LIMITS_STEP", "2"),
            ("CODEXD_DEMO_UPSTREAM_ERROR", "usage_limit"),
            ("CODEXD_DEMO_USAGE_LIMIT_RESET_S", "5"),
            ("CODEXD_DEMO_LOGGED_OUT", "1"),
            ("CODEXD_DEMO_ACCOUNT_EMAIL", "a@example.com"),
            ("CODEXD_DEMO_GROW_BYTES_PER_TURN", "1024"),
        ])
        .unwrap();
        assert_eq!(config.rate_limits, Some((96, 20)));
        assert_eq!(config.rate_limits_step, Some(2));
        assert_eq!(config.upstream_error, Some(UpstreamError::UsageLimit));
        assert!(config.logged_out);
        assert_eq!(config.grow_bytes_per_turn, 1024);
        for bad in ["101", "1,2,3", "x"] {
            assert!(parse(&[("CODEXD_DEMO_RATE_LIMITS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_value_means_unset() {
        let config = parse(&[("CODEXD_DEMO_CHUNKS", ""), ("CODEXD_DEMO_HANDSHAKE", "")]).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("CODEXD_DEMO_CHUNKS", "0"),
            ("CODEXD_DEMO_CHUNKS", "five"),
            ("CODEXD_DEMO_HANDSHAKE", "delay:soon"),
            ("CODEXD_DEMO_EXIT_ON_START", "300"),
            ("CODEXD_DEMO_GARBAGE_LINE", "yes"),
            ("CODEXD_DEMO_UPSTREAM_ERROR", "teapot"),
            ("CODEXD_DEMO_UPSTREAM_ERROR", "http_status:99"),
            ("CODEXD_DEMO_APPROVAL_REQUEST", "all"),
            ("CODEXD_DEMO_CHUNK", "5"),
            ("CODEXD_DEMO_UPSTREAM_ERROR_AFTER_CHUNKS", "1"),
        ] {
            let error = parse(&[(k, v)]).unwrap_err();
            assert!(error.to_string().starts_with(k), "{error}");
        }
    }
}
