"""Starts the shipped Envoy config with the built filter in front of the stand-in upstream.

The config is `envoy/envoy.yaml` itself, with only what a local run must change: ports, the
policy, the audit file, the .wasm path, and the upstream cluster pointed at the stand-in on
127.0.0.1 without TLS. Everything else (hardening, header removal, access log format) is what
operators ship.
"""
import copy
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WASM = os.path.join(ROOT, "target", "wasm32-wasip1", "release", "bollard.wasm")
# Built with `--features fault-injection` (make build-fault): panics on `x-bollard-fault: panic`.
FAULT_WASM = os.path.join(ROOT, "target", "fault-injection", "wasm32-wasip1", "release", "bollard.wasm")
# What envoy/envoy.yaml adds to Envoy's defaults to harden the HTTP connection manager.
HARDENING = ("normalize_path", "merge_slashes", "path_with_escaped_slashes_action",
             "http_protocol_options", "common_http_protocol_options", "max_request_headers_kb",
             "request_timeout")
ENVOY = os.environ.get("ENVOY", os.path.join(ROOT, ".venv", "bin", "envoy"))
UPSTREAM = os.path.join(ROOT, "tests", "support", "upstream.py")
LIFETIME = 900  # seconds: every server started here stops by itself after this


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


def is_lookup(entry):
    """A call the filter made itself: a branch listing, or a project's own details (whose
    organization an agent with `projects: {"organizations": [...]}` depends on)."""
    names = {k for k, _ in entry["headers"]}
    path = entry["path"]
    own_project = re.fullmatch(r"/v1/projects/[a-z]{20}", path) is not None
    return (entry["method"] == "GET" and (path.endswith("/branches") or own_project)
            and "x-envoy-internal" in names and "x-forwarded-for" not in names)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=30, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def envoy_config(policy_text, listen_port, admin_port, upstream_port, audit_path, wasm=WASM, hardened=True):
    with open(os.path.join(ROOT, "envoy", "envoy.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg = copy.deepcopy(cfg)
    cfg["admin"]["address"]["socket_address"]["port_value"] = admin_port
    listener = cfg["static_resources"]["listeners"][0]
    listener["address"]["socket_address"]["port_value"] = listen_port
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["access_log"][0]["typed_config"]["path"] = audit_path
    if not hardened:
        for key in HARDENING:
            hcm.pop(key, None)
    plugin = next(f for f in hcm["http_filters"] if f["name"] == "bollard")["typed_config"]["config"]
    plugin["configuration"]["value"] = policy_text
    plugin["vm_config"]["code"]["local"]["filename"] = wasm
    cluster = cfg["static_resources"]["clusters"][0]
    cluster["type"] = "STATIC"
    cluster.pop("transport_socket", None)
    cluster.pop("dns_lookup_family", None)
    ep = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    ep["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": upstream_port}
    return cfg


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (lowercase name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def json(self):
        return json.loads(self.body)


class Gateway:
    """Envoy + bollard.wasm + stand-in upstream, all on 127.0.0.1, stopped on exit."""

    def __init__(self, policy, token="sbp_upstream_token_canary_0123456789abcdef", concurrency=1, start=True,
                 wasm=WASM, hardened=True, ecds=False, upstream_trailers=False, request_timeout=None):
        self.wasm = wasm
        # request_timeout: replaces the shipped connection manager's (for a test of it).
        self.request_timeout = request_timeout
        # upstream_trailers: Envoy reads trailers of the stand-in's chunked responses (HTTP/1.1
        # drops them by default; an HTTP/2 upstream always has them).
        self.upstream_trailers = upstream_trailers
        self.hardened = hardened
        # ecds: the filter's config comes from a watched file (extension config discovery), as in
        # envoy/ecds.yaml; update_policy() replaces it.
        self.ecds = ecds
        self.policy_text = policy if isinstance(policy, str) else json.dumps(policy)
        self.token = token
        self.concurrency = concurrency
        self.dir = tempfile.mkdtemp(prefix="bollard-")
        self.audit_path = os.path.join(self.dir, "audit.jsonl")
        self.record_path = os.path.join(self.dir, "upstream.jsonl")
        self.log_path = os.path.join(self.dir, "envoy.log")
        self.procs = []
        self.start_ok = None
        if start:
            self.start()

    def start(self):
        port_file = os.path.join(self.dir, "upstream.port")
        up = subprocess.Popen(
            [sys.executable, UPSTREAM, "--record", self.record_path, "--port-file", port_file,
             "--lifetime", str(LIFETIME)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(up)
        wait_for(lambda: os.path.exists(port_file), what="stand-in upstream")
        self.upstream_port = int(open(port_file).read())
        self.port = free_port()
        self.admin_port = free_port()
        cfg = envoy_config(self.policy_text, self.port, self.admin_port, self.upstream_port, self.audit_path,
                           wasm=self.wasm, hardened=self.hardened)
        if self.request_timeout is not None:
            listener = cfg["static_resources"]["listeners"][0]
            listener["filter_chains"][0]["filters"][0]["typed_config"]["request_timeout"] = self.request_timeout
        if self.upstream_trailers:
            cfg["static_resources"]["clusters"][0]["typed_extension_protocol_options"] = {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http_protocol_options": {"enable_trailers": True}},
                }
            }
        if self.ecds:
            cfg = self._to_ecds(cfg)
        self.config_path = os.path.join(self.dir, "envoy.yaml")
        with open(self.config_path, "w") as f:
            yaml.safe_dump(cfg, f)
        env = dict(os.environ)
        env.pop("SUPABASE_ACCESS_TOKEN", None)
        if self.token is not None:
            env["SUPABASE_ACCESS_TOKEN"] = self.token
        self.envoy = subprocess.Popen(
            ["timeout", str(LIFETIME), ENVOY, "-c", self.config_path, "--concurrency", str(self.concurrency),
             "--use-dynamic-base-id", "--log-path", self.log_path, "-l", os.environ.get("ENVOY_LOG_LEVEL","info"),
             "--file-flush-interval-msec", "100"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.envoy)
        end = time.time() + 60
        while time.time() < end:
            if self.envoy.poll() is not None:
                self.start_ok = False
                return
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=2)
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    self.start_ok = True
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.start_ok = False

    def request(self, method, target, headers=(), body=None):
        """Sends one request exactly as given (repeated headers stay repeated)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        c.putheader("host", "gateway.local")
        for k, v in headers:
            c.putheader(k, v)
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            c.putheader("content-length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        out = Response(r.status, [(k.lower(), v) for k, v in r.getheaders()], r.read())
        c.close()
        return out

    def _filters(self, cfg):
        hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        return hcm["http_filters"]

    def _to_ecds(self, cfg):
        filters = self._filters(cfg)
        self.wasm_filter = copy.deepcopy(filters[0]["typed_config"])
        self.ecds_path = os.path.join(self.dir, "ecds", "bollard-filter.yaml")
        os.makedirs(os.path.dirname(self.ecds_path))
        self._write_ecds(self.policy_text, version=1)
        filters[0] = {"name": "bollard", "config_discovery": {
            "config_source": {"resource_api_version": "V3", "path_config_source": {
                "path": self.ecds_path, "watched_directory": {"path": os.path.dirname(self.ecds_path)}}},
            "type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"]}}
        cfg["node"] = {"id": "bollard-test", "cluster": "bollard"}
        return cfg

    def _write_ecds(self, policy_text, version):
        typed = copy.deepcopy(self.wasm_filter)
        typed["config"]["configuration"]["value"] = policy_text
        doc = {"version_info": str(version), "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": "bollard", "typed_config": typed}]}
        tmp = self.ecds_path + ".tmp"
        with open(tmp, "w") as f:
            yaml.safe_dump(doc, f)
        os.replace(tmp, self.ecds_path)  # an atomic move, which Envoy's file watch sees

    def update_policy(self, policy, version):
        """Hands Envoy a new policy through extension config discovery (ecds=True only)."""
        self._write_ecds(policy if isinstance(policy, str) else json.dumps(policy), version)

    def raw(self, data, timeout=10):
        """Sends raw bytes on a new connection; returns (status or None, whole response bytes)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if b"\r\n\r\n" in b"".join(chunks) and b"connection: close" not in b"".join(chunks).lower():
                        head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                        if length and len(rest) >= length[0]:
                            break
            except socket.timeout:
                pass
        out = b"".join(chunks)
        status = None
        if out.startswith(b"HTTP/"):
            status = int(out.split(b" ", 2)[1])
        return status, out

    def call(self, method, target, key=None, **kw):
        headers = list(kw.pop("headers", ()))
        if key is not None:
            headers.insert(0, ("authorization", f"Bearer {key}"))
        return self.request(method, target, headers=headers, **kw)

    def stats(self, fmt="prometheus"):
        """The admin endpoint's /stats/prometheus (or /stats) text."""
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        c.request("GET", "/stats/prometheus" if fmt == "prometheus" else "/stats")
        return c.getresponse().read().decode()

    def upstream_requests(self, lookups=False):
        """What reached the stand-in upstream: the forwarded agent requests, and with
        `lookups=True` also the filter's own branch listings (Envoy marks its internal callouts
        with x-envoy-internal and they carry no x-forwarded-for)."""
        if not os.path.exists(self.record_path):
            return []
        with open(self.record_path) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        if lookups:
            return entries
        return [e for e in entries if not is_lookup(e)]

    def audit_lines(self, expect=None, timeout=10):
        """The audit file's lines; waits until `expect` lines are there (Envoy flushes on a timer)."""
        def read():
            if not os.path.exists(self.audit_path):
                return []
            with open(self.audit_path) as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        if expect is not None:
            try:
                wait_for(lambda: len(read()) >= expect, timeout=timeout, what=f"{expect} audit lines")
            except TimeoutError:
                pass
        return read()

    def audit(self, expect=None):
        return [json.loads(line) for line in self.audit_lines(expect)]

    def envoy_log(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
