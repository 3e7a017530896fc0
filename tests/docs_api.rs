//! The `curl` examples of `docs/api.md` work against `make run`: every ```sh block that starts
//! with `curl` runs against a daemon started from `config/demo.toml` on a free port.

use crate::support::daemon::Daemon;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEMO_ADDR: &str = "127.0.0.1:11435";

/// One runnable example: its shell text and, for error examples, the status it documents.
struct Example {
    line: usize,
    script: String,
    expect: Option<u16>,
}

/// Every ```sh block whose first line starts with `curl`. A block documenting an error says
/// `# expect: HTTP <status>` and uses `curl -si`; every other block must use `curl -sf`.
fn examples(markdown: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut block: Option<(usize, Vec<&str>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut block {
            None if line.trim_end() == "```sh" => block = Some((i + 2, Vec::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => {
                let (start, lines) = block.take().unwrap();
                if lines.first().is_some_and(|l| l.starts_with("curl ")) {
                    let expect = lines.iter().find_map(|l| {
                        l.strip_prefix("# expect: HTTP ")
                            .map(|s| s.trim().parse().expect("a status after `# expect: HTTP`"))
                    });
                    out.push(Example {
                        line: start,
                        script: lines.join("\n"),
                        expect,
                    });
                }
            }
            Some((_, lines)) => lines.push(line),
        }
    }
    out
}

/// Runs a script with `sh`, bounded.
fn run(script: &str) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sh");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("example did not finish in 30 s:\n{script}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn every_curl_example_in_the_api_docs_works_against_the_demo_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let markdown = std::fs::read_to_string(root.join("docs/api.md")).unwrap();
    let examples = examples(&markdown);
    assert!(
        examples.len() >= 12,
        "found only {} examples",
        examples.len()
    );
    assert!(
        examples
            .iter()
            .any(|e| e.script.contains("\"stream\": true")),
        "a streaming example"
    );
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "curl is needed to check the examples"
    );
    let d = Daemon::start_with_file(
        &root.join("config/demo.toml"),
        &[("CODEXD__SERVER__LISTEN", "127.0.0.1:0")],
    );
    d.wait_ready();
    let addr = d.addr.to_string();
    for ex in &examples {
        let where_ = format!("docs/api.md line {}", ex.line);
        assert!(
            ex.script.contains(DEMO_ADDR),
            "{where_}: not aimed at make run"
        );
        let out = run(&ex.script.replace(DEMO_ADDR, &addr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report = format!(
            "{where_}:\n{}\n--- stdout\n{stdout}\n--- stderr\n{}",
            ex.script,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "exit {}: {report}", out.status);
        match ex.expect {
            Some(status) => {
                assert!(ex.script.starts_with("curl -si "), "{report}");
                let got = stdout.lines().next().and_then(|l| l.split(' ').nth(1));
                assert_eq!(got, Some(status.to_string().as_str()), "{report}");
                assert!(stdout.contains("{\"error\":{"), "{report}");
            }
            None => {
                assert!(ex.script.starts_with("curl -sf"), "use curl -sf: {report}");
                assert!(!stdout.is_empty(), "{report}");
            }
        }
    }
}
