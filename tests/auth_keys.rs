//! Named API keys (`[[auth.keys]]`) through the real binary: every secret source
//! authenticates, the key id (never the secret) is on the request's log lines, the legacy
//! key keeps working as id `default`, and bad entries exit 64 naming the key path.

use crate::support::daemon::{scratch_dir, Config, Daemon, BIN, KEY};
use crate::support::http;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

const CHAT: &str = "/v1/chat/completions";
const ENV_SECRET: &str = "sk-named-env-7f3a";
const FILE_SECRET: &str = "sk-named-file-91c2";
const HASHED_SECRET: &str = "sk-named-hashed-5d08";

fn sha256_hex(s: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// A config with three named keys (env, file, digest) plus the base's legacy key.
pub fn named_keys() -> Config {
    let dir = scratch_dir("keys");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{FILE_SECRET}\n")).unwrap();
    let digest = sha256_hex(HASHED_SECRET);
    Config::default()
        .set(
            "auth.keys",
            &format!(
                r#"[{{id = "team-env", secret_env = "CODEXD_TEST_KEY_A", admin = true}},
                   {{id = "team-file", secret_file = "{}"}},
                   {{id = "team-hash", secret_sha256 = "{digest}", requests_per_minute = 100}}]"#,
                file.display()
            ),
        )
        .daemon_env("CODEXD_TEST_KEY_A", ENV_SECRET)
}

fn chat(d: &Daemon, secret: &str, req_id: &str) -> http::Response {
    let auth = format!("Bearer {secret}");
    http::request(
        d.addr,
        "POST",
        CHAT,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("X-Request-Id", req_id),
        ],
        http::chat_body("hello", false).to_string().as_bytes(),
    )
}

#[test]
fn every_secret_source_authenticates_and_logs_its_key_id() {
    let mut d = Daemon::start_ready(named_keys());
    for (secret, req, id) in [
        (ENV_SECRET, "req-k-env", "team-env"),
        (FILE_SECRET, "req-k-file", "team-file"),
        (HASHED_SECRET, "req-k-hash", "team-hash"),
        (KEY, "req-k-legacy", "default"),
    ] {
        assert_eq!(chat(&d, secret, req).status, 200, "{id}");
        let line = d.wait_event(T, "request_completed", |e| {
            e["event"] == "request_completed" && e["req_id"] == req
        });
        assert_eq!(line["key_id"], id, "{line}");
        let ended = d.wait_event(T, "stream_ended", |e| {
            e["event"] == "stream_ended" && e["req_id"] == req
        });
        assert_eq!(ended["key_id"], id, "{ended}");
    }
    // A digest is not a secret; an unknown token is refused; neither has a key id.
    let r = chat(&d, &sha256_hex(HASHED_SECRET), "req-k-digest");
    assert_eq!(r.status, 401);
    let line = d.wait_event(T, "request_completed", |e| {
        e["event"] == "request_completed" && e["req_id"] == "req-k-digest"
    });
    assert!(line.get("key_id").is_none(), "{line}");
    d.terminate();
    let all = d.lines().join("\n") + &d.stderr();
    for secret in [ENV_SECRET, FILE_SECRET, HASHED_SECRET] {
        assert!(!all.contains(secret), "a secret was logged");
    }
}

fn check_config(config: &Config) -> (i32, String, String) {
    let dir = scratch_dir("keys-check");
    let path = dir.join("c.toml");
    std::fs::write(&path, config.text()).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("check-config").arg("--config").arg(&path);
    cmd.env("CODEXD_TEST_KEY_A", ENV_SECRET);
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_config_shows_where_secrets_live_but_never_a_secret() {
    let (code, out, err) = check_config(&named_keys());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CODEXD_TEST_KEY_A"), "{out}");
    assert!(
        out.contains("team-file") && out.contains("secret_file"),
        "{out}"
    );
    let digest = sha256_hex(HASHED_SECRET);
    for secret in [ENV_SECRET, FILE_SECRET, HASHED_SECRET, KEY, digest.as_str()] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }
}

#[test]
fn bad_key_entries_exit_64_naming_the_key_path() {
    for (keys, path) in [
        (r#"[{id = "a"}]"#, "auth.keys[0].secret_env"),
        (
            r#"[{id = "a", secret_sha256 = "00"}, {id = "b", secret_env = "NOT_SET_ANYWHERE"}]"#,
            "auth.keys[0].secret_sha256",
        ),
        (
            r#"[{id = "a", secret_env = "CODEXD_TEST_KEY_A"}, {id = "b", secret_env = "NOT_SET_ANYWHERE"}]"#,
            "auth.keys[1].secret_env",
        ),
        (
            r#"[{id = "a", secret_env = "CODEXD_TEST_KEY_A"}, {id = "a", secret_file = "/nonexistent"}]"#,
            "auth.keys[1].id",
        ),
        (
            r#"[{id = "a", secret_file = "/nonexistent/secret"}]"#,
            "auth.keys[0].secret_file",
        ),
        (
            r#"[{id = "a", secret_env = "CODEXD_TEST_KEY_A", max_concurrent = 0}]"#,
            "auth.keys[0].max_concurrent",
        ),
    ] {
        let (code, _, err) = check_config(&Config::default().set("auth.keys", keys));
        assert_eq!(code, 64, "{keys}: {err}");
        assert!(err.contains(path), "{keys}: want {path} in {err}");
    }
}
