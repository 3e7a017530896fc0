//! Operator artifacts: the deployment units. The systemd unit and the Kubernetes manifests
//! agree with `config/codexd.toml` (ports, probe paths, grace periods).

use crate::ops_rules::{read, yaml};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Fixed bounds of the shutdown sequence beyond the configured ones (src/shutdown.rs and
/// src/runtime.rs): 1 s after the interrupt grace, 2 s for the listeners to stop, 2 s on top
/// of workers.stop_grace_ms, 1 s on top of tracing.export_timeout_ms, 0.1 s of sleeps.
const FIXED_SHUTDOWN_MS: u64 = 1_000 + 2_000 + 2_000 + 1_000 + 100;
/// What a grace period must leave on top of the worst case.
const MARGIN_S: u64 = 5;

struct Production {
    port: u16,
    codex_home: String,
    /// The worst-case bounded shutdown, in milliseconds.
    shutdown_ms: u64,
}

fn production() -> Production {
    let t: toml::Table = read("config/codexd.toml")
        .parse()
        .expect("config/codexd.toml is TOML");
    let ms = |section: &str, key: &str| {
        t[section][key]
            .as_integer()
            .unwrap_or_else(|| panic!("config/codexd.toml has no {section}.{key}")) as u64
    };
    let listen = t["server"]["listen"].as_str().expect("server.listen");
    let port = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a port in server.listen");
    Production {
        port,
        codex_home: t["workers"]["codex_home"]
            .as_str()
            .expect("workers.codex_home")
            .to_owned(),
        shutdown_ms: ms("server", "drain_timeout_ms")
            + ms("streaming", "interrupt_grace_ms")
            + ms("workers", "stop_grace_ms")
            + ms("tracing", "export_timeout_ms")
            + FIXED_SHUTDOWN_MS,
    }
}

/// `[section] key=value` lines of a systemd unit; repeated keys keep every value.
fn unit(text: &str) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry((section.clone(), k.trim().to_owned()))
                .or_default()
                .push(v.trim().to_owned());
        }
    }
    out
}

/// A systemd time span (`90`, `90s`, `1min 30s`, `1500ms`) in milliseconds.
fn systemd_ms(v: &str) -> u64 {
    let mut total = 0.0;
    for part in v.split_whitespace() {
        let split = part
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(part.len());
        let (n, unit) = part.split_at(split);
        let n: f64 = n.parse().unwrap_or_else(|_| panic!("bad time span {v:?}"));
        total += n * match unit {
            "" | "s" | "sec" => 1000.0,
            "ms" | "msec" => 1.0,
            "m" | "min" => 60_000.0,
            other => panic!("unsupported unit {other:?} in {v:?}"),
        };
    }
    total as u64
}

fn yaml_strs(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

/// A `host:port` string's port.
fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

#[test]
fn ops_deployment_units_agree_with_the_production_config() {
    let prod = production();
    let need_s = prod.shutdown_ms.div_ceil(1000) + MARGIN_S;
    let mut problems = Vec::new();

    // systemd
    let u = unit(&read("config/systemd/codexd.service"));
    let get = |k: &str| u.get(&("Service".to_owned(), k.to_owned())).cloned();
    let one = |k: &str| get(k).and_then(|v| v.last().cloned());
    for (k, want) in [
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("KillMode", "mixed"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        if one(k).as_deref() != Some(want) {
            problems.push(format!(
                "codexd.service: {k}={want:?} expected, found {:?}",
                one(k)
            ));
        }
    }
    let families = one("RestrictAddressFamilies").unwrap_or_default();
    let families: BTreeSet<&str> = families.split_whitespace().collect();
    if families != BTreeSet::from(["AF_INET", "AF_INET6", "AF_UNIX"]) {
        problems.push(format!(
            "codexd.service: RestrictAddressFamilies must be exactly AF_INET AF_INET6 AF_UNIX, found {:?}",
            families
        ));
    }
    if !get("SystemCallFilter")
        .unwrap_or_default()
        .iter()
        .any(|f| f.split_whitespace().any(|w| w == "@system-service"))
    {
        problems.push("codexd.service: no SystemCallFilter=@system-service".into());
    }
    let exec = one("ExecStart").unwrap_or_default();
    if !exec.contains(" serve --config ") {
        problems.push(format!(
            "codexd.service: ExecStart {exec:?} does not run `serve --config`"
        ));
    }
    let writable = get("ReadWritePaths").unwrap_or_default().join(" ");
    if !writable
        .split_whitespace()
        .any(|p| prod.codex_home.starts_with(p.trim_start_matches('-')))
    {
        problems.push(format!(
            "codexd.service: workers.codex_home {} is not under ReadWritePaths ({writable:?})",
            prod.codex_home
        ));
    }
    match one("TimeoutStopSec").map(|v| systemd_ms(&v)) {
        Some(ms) if ms >= need_s * 1000 => {}
        got => problems.push(format!(
            "codexd.service: TimeoutStopSec is {got:?} ms; the bounded shutdown with \
             config/codexd.toml takes up to {} ms, so it must be at least {need_s} s",
            prod.shutdown_ms
        )),
    }

    // Kubernetes
    let dep = yaml("config/kubernetes/deployment.yaml");
    let pod = &dep["spec"]["template"]["spec"];
    let c = pod["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "codexd"))
        .cloned()
        .expect("a container named codexd in deployment.yaml");
    let ports: BTreeMap<String, u64> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["containerPort"].as_u64()?)))
        .collect();
    let env: BTreeMap<String, Value> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e.clone())))
        .collect();
    let env_value = |k: &str| {
        env.get(k)
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
    };
    let listen_port = env_value("CODEXD__SERVER__LISTEN")
        .and_then(|a| port_of(&a))
        .unwrap_or(prod.port);
    if listen_port != prod.port {
        problems.push(format!(
            "deployment.yaml: CODEXD__SERVER__LISTEN uses port {listen_port}, config/codexd.toml server.listen uses {}",
            prod.port
        ));
    }
    if ports.get("http").copied() != Some(u64::from(prod.port)) {
        problems.push(format!(
            "deployment.yaml: containerPort `http` is {:?}, server.listen's port is {}",
            ports.get("http"),
            prod.port
        ));
    }
    if let Some(m) = env_value("CODEXD__METRICS__LISTEN").and_then(|a| port_of(&a)) {
        if ports.get("metrics").copied() != Some(u64::from(m)) {
            problems.push(format!(
                "deployment.yaml: containerPort `metrics` is {:?}, CODEXD__METRICS__LISTEN uses {m}",
                ports.get("metrics")
            ));
        }
    }
    for (probe, path) in [
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/livez"),
    ] {
        let p = &c[probe]["httpGet"];
        if p.is_null() && probe == "startupProbe" {
            continue;
        }
        if p["path"] != path {
            problems.push(format!(
                "deployment.yaml: {probe} path is {}, expected {path}",
                p["path"]
            ));
        }
        let port = match &p["port"] {
            Value::String(name) => ports.get(name).copied(),
            v => v.as_u64(),
        };
        if port != Some(u64::from(prod.port)) {
            problems.push(format!(
                "deployment.yaml: {probe} port {} is {port:?}, not server.listen's port {}",
                p["port"], prod.port
            ));
        }
    }
    let pre_stop = &c["lifecycle"]["preStop"];
    let pre_stop_s = pre_stop["sleep"]["seconds"].as_u64().unwrap_or_else(|| {
        // An exec `sleep N` hook.
        yaml_strs(&pre_stop["exec"]["command"])
            .iter()
            .find_map(|w| w.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    });
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    if grace < pre_stop_s + need_s {
        problems.push(format!(
            "deployment.yaml: terminationGracePeriodSeconds {grace} < preStop {pre_stop_s} s + \
             the bounded shutdown with config/codexd.toml ({} ms) + {MARGIN_S} s margin = {} s",
            prod.shutdown_ms,
            pre_stop_s + need_s
        ));
    }
    // The config file is config/codexd.toml itself, mounted where --config points.
    let args = yaml_strs(&c["args"]);
    let config_path = args
        .iter()
        .skip_while(|a| *a != "--config")
        .nth(1)
        .cloned()
        .unwrap_or_default();
    let mounts: Vec<Value> = c["volumeMounts"].as_array().cloned().unwrap_or_default();
    let volumes: Vec<Value> = pod["volumes"].as_array().cloned().unwrap_or_default();
    let config_dir = config_path.rsplit_once('/').map(|x| x.0).unwrap_or("");
    let config_volume = mounts
        .iter()
        .find(|m| m["mountPath"] == config_dir)
        .and_then(|m| volumes.iter().find(|v| v["name"] == m["name"]));
    let cm = config_volume.and_then(|v| v["configMap"]["name"].as_str().map(str::to_owned));
    let kust = yaml("config/kubernetes/kustomization.yaml");
    let generated = kust["configMapGenerator"].as_array().and_then(|g| {
        g.iter()
            .find(|x| Some(x["name"].as_str().unwrap_or("")) == cm.as_deref())
    });
    let from_file = generated
        .map(|g| yaml_strs(&g["files"]))
        .unwrap_or_default()
        .iter()
        .any(|f| {
            f == &format!(
                "{}=../codexd.toml",
                config_path.rsplit('/').next().unwrap_or("")
            )
        });
    if !from_file {
        problems.push(format!(
            "deployment.yaml runs --config {config_path:?}, which must be a ConfigMap generated \
             from ../codexd.toml by kustomization.yaml (found volume {config_volume:?})"
        ));
    }
    if !mounts.iter().any(|m| {
        m["readOnly"] != true
            && m["mountPath"]
                .as_str()
                .is_some_and(|p| prod.codex_home.starts_with(p))
    }) {
        problems.push(format!(
            "deployment.yaml: workers.codex_home {} is not on a writable volume",
            prod.codex_home
        ));
    }

    // Service, ServiceMonitor and the job label the rules select.
    let svc = yaml("config/kubernetes/service.yaml");
    let labels = &dep["spec"]["template"]["metadata"]["labels"];
    for (k, v) in svc["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if labels[&k] != v {
            problems.push(format!(
                "service.yaml: selector {k}={v} does not match the pod labels {labels}"
            ));
        }
    }
    let svc_ports: Vec<Value> = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    for p in &svc_ports {
        let target = &p["targetPort"];
        let ok = match target {
            Value::String(n) => ports.contains_key(n),
            v => ports.values().any(|p| Some(*p) == v.as_u64()),
        };
        if !ok {
            problems.push(format!(
                "service.yaml: targetPort {target} is not a container port"
            ));
        }
    }
    let rules_text = read(crate::ops_rules::RULES);
    let job = svc["metadata"]["name"].as_str().unwrap_or("");
    if !rules_text.contains(&format!("job=\"{job}\"")) {
        problems.push(format!(
            "the ServiceMonitor's job label is the Service name {job:?}, which the rules never select"
        ));
    }
    let sm = yaml("config/kubernetes/servicemonitor.yaml");
    for (k, v) in sm["spec"]["selector"]["matchLabels"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if svc["metadata"]["labels"][&k] != v {
            problems.push(format!(
                "servicemonitor.yaml: selector {k}={v} does not match the Service's labels"
            ));
        }
    }
    let token_ref = &env
        .get("CODEXD__METRICS__TOKEN")
        .cloned()
        .unwrap_or(Value::Null)["valueFrom"]["secretKeyRef"];
    for e in sm["spec"]["endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if !svc_ports.iter().any(|p| p["name"] == e["port"]) {
            problems.push(format!(
                "servicemonitor.yaml: endpoint port {} is not a Service port",
                e["port"]
            ));
        }
        if e["path"] != "/metrics" {
            problems.push(format!(
                "servicemonitor.yaml: path {} is not /metrics",
                e["path"]
            ));
        }
        let cred = &e["authorization"]["credentials"];
        if cred["name"] != token_ref["name"] || cred["key"] != token_ref["key"] {
            problems.push(format!(
                "servicemonitor.yaml: scrapes with secret {cred}, but the daemon's metrics token is {token_ref}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
