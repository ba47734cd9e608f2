//! `bollard envoy-config`: a complete Envoy config with the filter and a policy embedded, or
//! with `--ecds DIR` the hot-reload pair (a bootstrap that takes the filter's configuration from
//! a watched file, and that file). `envoy/envoy.yaml` is this command's output for
//! `examples/policy.json` (a test keeps it so).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::args::Args;
use crate::{policy_source, Outcome};

/// Where `make build` writes the filter, relative to the checkout.
const BUILT_WASM: &str = "target/wasm32-wasip1/release/bollard.wasm";

pub fn run(raw: &[String]) -> Outcome {
    let a = Args::parse(
        raw,
        &["--upstream", "--listen", "--admin", "--wasm", "--audit-log", "--ecds"],
        &["--no-check-wasm"],
    )?;
    let path = crate::one_positional(&a, "POLICY file")?;
    let loaded = policy_source::load(path)?;
    let upstream = parse_upstream(a.value("--upstream").unwrap_or("https://api.supabase.com"))?;
    let listen = parse_listen(a.value("--listen").unwrap_or("127.0.0.1:10000"))?;
    let admin =
        parse_listen(a.value("--admin").unwrap_or("127.0.0.1:9901")).map_err(|e| e.replace("--listen", "--admin"))?;
    let wasm = match (a.value("--wasm"), a.has("--no-check-wasm")) {
        (Some(w), true) => w.to_string(),
        (None, true) => return Err("--no-check-wasm needs --wasm PATH".into()),
        (Some(w), false) => absolute_existing(w).map_err(|e| format!("--wasm {w}: {e}"))?,
        (None, false) => find_wasm()?,
    };
    let audit_log = a.value("--audit-log").unwrap_or("/tmp/bollard-audit.jsonl");
    let audit_log = if a.has("--no-check-wasm") { audit_log.to_string() } else { absolute(audit_log)? };
    let options = Options {
        policy_text: &loaded.json,
        listen,
        admin,
        upstream,
        wasm: &wasm,
        audit_log: &audit_log,
        token_env: &loaded.policy.token_env,
    };
    let config = render(&options);
    match a.value("--ecds") {
        None => print!("{config}"),
        Some(dir) => write_ecds(Path::new(dir), &config, &loaded.json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn absolute(path: &str) -> Result<String, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(path.to_string());
    }
    let cwd = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    Ok(cwd.join(p).to_string_lossy().into_owned())
}

fn absolute_existing(path: &str) -> Result<String, String> {
    let p = std::fs::canonicalize(path)
        .map_err(|e| format!("{e} (build it with `make build`, or pass the path of bollard.wasm)"))?;
    if !p.is_file() {
        return Err("not a file".into());
    }
    Ok(p.to_string_lossy().into_owned())
}

/// The filter `make build` wrote: under the current directory, or beside this binary (a
/// checkout's target/release/bollard, or a release tarball with bollard.wasm next to bollard).
fn find_wasm() -> Result<String, String> {
    let mut tried: Vec<PathBuf> = vec![PathBuf::from(BUILT_WASM)];
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        tried.push(dir.join("bollard.wasm"));
        tried.push(dir.join("../wasm32-wasip1/release/bollard.wasm"));
    }
    for t in &tried {
        if t.is_file() {
            return absolute_existing(&t.to_string_lossy());
        }
    }
    let list: Vec<String> = tried.iter().map(|t| t.display().to_string()).collect();
    Err(format!(
        "no bollard.wasm found (looked at {}): run `make build` in the checkout, or pass --wasm PATH",
        list.join(", ")
    ))
}

/// The name of the watched file inside the `--ecds` directory.
const ECDS_FILTER_FILE: &str = "bollard-filter.yaml";

/// Writes DIR/envoy.yaml and DIR/bollard-filter.yaml; the latter atomically, since a running
/// Envoy watches it.
fn write_ecds(dir: &Path, config: &str, policy_json: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("--ecds {}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("--ecds {}: {e}", dir.display()))?;
    let filter_path = dir.join(ECDS_FILTER_FILE);
    let (bootstrap, filter) = render_ecds(config, &filter_path.to_string_lossy(), policy_json)?;
    let bootstrap_path = dir.join("envoy.yaml");
    std::fs::write(&bootstrap_path, bootstrap).map_err(|e| format!("{}: {e}", bootstrap_path.display()))?;
    let temp = dir.join(format!(".{ECDS_FILTER_FILE}.{}", std::process::id()));
    std::fs::write(&temp, filter).map_err(|e| format!("{}: {e}", temp.display()))?;
    std::fs::rename(&temp, &filter_path).map_err(|e| format!("{}: {e}", filter_path.display()))?;
    println!("wrote {}", bootstrap_path.display());
    println!("wrote {}", filter_path.display());
    println!("start:  envoy -c {}", bootstrap_path.display());
    println!("reload: bollard envoy-config NEW_POLICY --ecds {} (the same options; Envoy picks it up)", dir.display());
    Ok(())
}

/// The header of the bootstrap and filter files `--ecds` writes.
fn ecds_headers(filter_path: &str) -> (String, String) {
    let bootstrap = format!(
        r#"# Bollard with its policy delivered by extension config discovery (ECDS) from a watched file,
# {filter_path}. Generated by `bollard envoy-config POLICY --ecds DIR`.
# A running Envoy applies a new version of that file to new requests, with no restart and no
# dropped connection; a policy the filter refuses is rejected and the previous one keeps serving.
# Fail closed: with no valid policy at start, Envoy answers 500 and forwards nothing.
"#
    );
    let filter = format!(
        r#"# The Bollard filter's configuration (an ECDS response), watched by Envoy. Generated by
# `bollard envoy-config POLICY --ecds DIR`; to change the policy run that again: the file is
# replaced atomically (written beside it, then renamed over it), which is what Envoy's watch needs.
# {filter_path}
"#
    );
    (bootstrap, filter)
}

/// Splits a rendered config into the ECDS bootstrap and the filter's TypedExtensionConfig.
fn render_ecds(config: &str, filter_path: &str, policy_json: &str) -> Result<(String, String), String> {
    let filter_dir = Path::new(filter_path).parent().map(|d| d.display().to_string()).unwrap_or_default();
    let body: String = config.lines().skip_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    let marker = "          http_filters:\n          - name: bollard\n            typed_config:\n";
    let start = body.find(marker).ok_or("internal: the generated config has no bollard filter")?
        + "          http_filters:\n".len();
    let end = body
        .get(start + 1..)
        .and_then(|rest| rest.find("\n          - name: "))
        .map(|i| start + 1 + i + 1)
        .ok_or("internal: the generated config has no filter after bollard")?;
    let (before, block, after) =
        (body.get(..start).unwrap_or(""), body.get(start..end).unwrap_or(""), body.get(end..).unwrap_or(""));
    let typed_config: String = block
        .lines()
        .skip(2)
        .map(|l| {
            if l.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("    {}\n", l.get(14..).unwrap_or(l.trim_start()))
            }
        })
        .collect();
    let version = bollard::policy::key_sha256(policy_json);
    let version = version.get(..16).unwrap_or(&version);
    let (bootstrap_header, filter_header) = ecds_headers(filter_path);
    let bootstrap = format!(
        "{bootstrap_header}# Envoy needs a node identity for any xDS subscription, a file-based one included.\nnode:\n  id: bollard\n  cluster: bollard\n{before}          - name: bollard\n            config_discovery:\n              config_source:\n                resource_api_version: V3\n                path_config_source:\n                  path: {filter_path}\n                  watched_directory:\n                    path: {filter_dir}\n              type_urls:\n              - type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\n{after}"
    );
    let filter = format!(
        "{filter_header}version_info: \"{version}\"\nresources:\n- \"@type\": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig\n  name: bollard\n  typed_config:\n{typed_config}"
    );
    Ok((bootstrap, filter))
}

/// Where agents connect and where allowed calls go.
pub struct Options<'a> {
    pub policy_text: &'a str,
    /// `host:port` to listen on.
    pub listen: (&'a str, u16),
    /// `host:port` of Envoy's admin interface (stats, readiness).
    pub admin: (&'a str, u16),
    /// `https://host[:port]` (TLS with SNI and certificate validation) or `http://host:port`.
    pub upstream: Upstream<'a>,
    pub wasm: &'a str,
    pub audit_log: &'a str,
    pub token_env: &'a str,
}

pub struct Upstream<'a> {
    pub tls: bool,
    pub host: &'a str,
    pub port: u16,
}

/// Parses `https://api.supabase.com`, `http://127.0.0.1:8080`, ...
pub fn parse_upstream(url: &str) -> Result<Upstream<'_>, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("--upstream {url:?}: expected https://host[:port] or http://host:port"));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("--upstream {url:?}: bad port {p:?}"))?),
        None => (rest, if tls { 443 } else { 80 }),
    };
    if host.is_empty()
        || host.contains('/')
        || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(format!("--upstream {url:?}: expected a host name or address without a path"));
    }
    Ok(Upstream { tls, host, port })
}

/// Parses `127.0.0.1:10000`.
pub fn parse_listen(addr: &str) -> Result<(&str, u16), String> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| format!("--listen {addr:?}: expected address:port"))?;
    let port = port.parse::<u16>().map_err(|_| format!("--listen {addr:?}: bad port {port:?}"))?;
    if host.is_empty() {
        return Err(format!("--listen {addr:?}: expected address:port"));
    }
    Ok((host, port))
}

pub fn render(o: &Options) -> String {
    let policy: String = o.policy_text.trim_end().lines().map(|l| format!("                    {l}\n")).collect();
    let (listen_host, listen_port) = o.listen;
    let (admin_host, admin_port) = o.admin;
    let u = &o.upstream;
    let scheme = if u.tls { "https" } else { "http" };
    let tls = if u.tls {
        format!(
            r#"    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: {host}
        common_tls_context:
          validation_context:
            trusted_ca:
              filename: /etc/ssl/certs/ca-certificates.crt
            match_typed_subject_alt_names:
            - san_type: DNS
              matcher: {{ exact: {host} }}
"#,
            host = u.host
        )
    } else {
        String::new()
    };
    let token_env = o.token_env;
    format!(
        r#"# Bollard in front of the Supabase Management API ({scheme}://{uhost}:{uport}).
# Generated by `bollard envoy-config`.
#
#   {token_env}=sbp_... envoy -c envoy.yaml
#
# Agents call http://{listen_host}:{listen_port}/v1/... with their own keys; Envoy forwards what the
# policy allows with the real token, and writes one JSON audit line per request to
# {audit}. For your own policy: bollard envoy-config POLICY > envoy.yaml
admin:
  address:
    socket_address: {{ address: {admin_host}, port_value: {admin_port} }}
# Bollard's counters carry their labels in their names; these make them Prometheus labels
# (/stats/prometheus: bollard_requests{{decision="allow"}} ...).
stats_config:
  stats_tags:
  - tag_name: agent
    regex: '^wasmcustom\.bollard\.[a-z_]+(\.agent\.([a-z0-9_-]+))'
  - tag_name: area
    regex: '^wasmcustom\.bollard\.[a-z_]+(\.area\.([a-z_]+))'
  - tag_name: reason
    regex: '^wasmcustom\.bollard\.[a-z_]+(\.reason\.([a-z_]+))'
  - tag_name: decision
    regex: '^wasmcustom\.bollard\..*(\.decision\.(allow|deny))$'
static_resources:
  listeners:
  - name: bollard
    address:
      socket_address: {{ address: {listen_host}, port_value: {listen_port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bollard
          # The caller's address is the peer's; x-request-id from outside is replaced.
          use_remote_address: true
          # One reading of the path for every filter and for the upstream (see README, Hardening).
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: REJECT_REQUEST
          http_protocol_options:
            allow_absolute_url: false
          common_http_protocol_options:
            headers_with_underscores_action: REJECT_REQUEST
            max_headers_count: 64
          max_request_headers_kb: 32
          # A request (its body included) must arrive within this: a body sent slowly cannot hold
          # a decision open until keys, grants or the policy change.
          request_timeout: 300s
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {audit}
              log_format:
                text_format_source:
                  inline_string: "%FILTER_STATE(wasm.bollard_audit:PLAIN)%\n"
          route_config:
            name: supabase
            # Bollard's annotations are for filters inside this Envoy, never for Supabase.
            request_headers_to_remove: [x-bollard-agent, x-bollard-endpoint, x-bollard-decision]
            virtual_hosts:
            - name: supabase
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route:
                  cluster: supabase
                  host_rewrite_literal: {uhost}
                  timeout: 120s
          http_filters:
          - name: bollard
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: bollard
                root_id: bollard
                # A VM that fails answers 503 rather than letting requests past.
                failure_policy: FAIL_CLOSED
                # The filter holds a request's headers while it reads the body a decision needs
                # (run_sql, create_project); Envoy 1.40 delivers that body only with this.
                allow_on_headers_stop_iteration: true
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: |
{policy}                vm_config:
                  vm_id: bollard
                  runtime: envoy.wasm.runtime.v8
                  code:
                    local:
                      filename: {wasm}
                  environment_variables:
                    host_env_keys: [{token_env}]
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: supabase
    type: LOGICAL_DNS
    dns_lookup_family: V4_ONLY
    connect_timeout: 10s
    load_assignment:
      cluster_name: supabase
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: {uhost}, port_value: {uport} }}
{tls}"#,
        uhost = u.host,
        uport = u.port,
        audit = o.audit_log,
        wasm = o.wasm,
    )
}
