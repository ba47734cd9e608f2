#!/usr/bin/env python3
"""A stand-in for api.supabase.com, on 127.0.0.1 only.

It answers every operation of Supabase's OpenAPI spec with a body built from the operation's own
response schema, records each request it receives (method, path, headers) as a JSON line, and
stops by itself after --lifetime seconds. Used by the integration tests and by `make demo`.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SPEC = os.path.join(HERE, "..", "..", "spec", "supabase-management-api-v1.openapi.json")
SAMPLE_REF = "abcdefghijklmnopqrst"
# Secret-looking fields are answered with values the tests can look for ("CANARY").
SECRET_NAME = re.compile(r"(secret|password|_pass$|api_key|auth_token|access_key|root_key|^value$|^token$|access_token|refresh_token)")
NOT_SECRET = re.compile(r"(_enabled$|_uri$|_length$|_characters$|_interval$|_changed|reauthentication|token_type|token_alias|jwt_template|rate_limit)")
# Account-wide lists hold more than one agent's scope.
LISTS = {
    ("GET", "/v1/projects"): [
        {"id": ref, "ref": ref, "name": name, "organization_id": org, "organization_slug": org,
         "region": "us-east-1", "created_at": "2026-01-01T00:00:00Z", "status": "ACTIVE_HEALTHY"}
        for ref, name, org in [("abcdefghijklmnopqrst", "prod", "acme"), ("zyxwvutsrqponmlkjihg", "other", "other-org"),
                               ("mnopqrstuvwxyzabcdef", "staging", "acme")]],
    ("GET", "/v1/organizations"): [{"id": "acme", "slug": "acme", "name": "Acme"},
                                   {"id": "other-org", "slug": "other-org", "name": "Other"}],
}
# Each project's branches: (branch id, branch ref). The first is the project's default branch.
BRANCHES = {
    "abcdefghijklmnopqrst": [("11111111-1111-4111-8111-111111111111", "abcdefghijklmnopqrst"),
                             ("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "brnchaaaaaaaaaaaaaaa")],
    "zyxwvutsrqponmlkjihg": [("22222222-2222-4222-8222-222222222222", "zyxwvutsrqponmlkjihg"),
                             ("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "brnchbbbbbbbbbbbbbbb")],
}
for _parent, _branches in BRANCHES.items():
    LISTS[("GET", f"/v1/projects/{_parent}/branches")] = [
        {"id": bid, "name": "main" if i == 0 else f"feature-{i}", "project_ref": bref, "parent_project_ref": _parent,
         "is_default": i == 0, "persistent": i == 0, "status": "FUNCTIONS_DEPLOYED", "with_data": False,
         "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
        for i, (bid, bref) in enumerate(_branches)]

# What real clients read closely (tests/clients: the Supabase MCP server, the Supabase CLI,
# supabase-management-js) is answered as api.supabase.com answers it, within the spec's schemas:
# a project's own details, edge functions whose paths are the file URLs the MCP server parses, a
# function's source as multipart/form-data, rows from SQL, and no JSON content type on bodiless
# answers. Everything else is the spec's example, as before.
PROJECTS = {p["ref"]: p for p in LISTS[("GET", "/v1/projects")]}
FUNCTION_SLUGS = {"abcdefghijklmnopqrst": ["hello-world", "stripe-webhook"], "zyxwvutsrqponmlkjihg": ["other-fn"]}
SQL_ROWS = [{"id": 1, "name": "stand-in row"}]


class Raw:
    """A body that is not JSON, with its content type."""
    def __init__(self, content_type, data):
        self.content_type, self.data = content_type, data


def function_object(ref, slug, version=3):
    fid = "{:08x}-0000-4000-8000-{:012x}".format(sum(map(ord, ref)), sum(map(ord, slug)))
    root = f"file:///tmp/user_fn_{ref}_{fid}_{version}/source/supabase/functions/{slug}"
    return {"id": fid, "slug": slug, "name": slug, "status": "ACTIVE", "version": version,
            "created_at": 1767225600000, "updated_at": 1767225600000, "verify_jwt": True, "import_map": False,
            "entrypoint_path": f"{root}/index.ts", "ezbr_sha256": "0" * 64}


def function_files(ref, slug):
    """A function's source as the multipart/form-data the API sends for `Accept: multipart/form-data`."""
    boundary = "standin" + slug.replace("-", "")
    fn = function_object(ref, slug)
    root = f"/tmp/user_fn_{ref}_{fn['id']}_{fn['version']}/source/supabase/functions/{slug}"
    source = f'Deno.serve(() => new Response("{slug} from the stand-in"))\n'
    data = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"metadata\"\r\ncontent-type: application/json\r\n\r\n"
            + json.dumps({"deno2_entrypoint_path": f"file://{root}/index.ts", "entrypoint_path": f"file://{root}/index.ts"})
            + f"\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{root}/index.ts\"\r\n"
            + f"content-type: application/typescript\r\n\r\n{source}\r\n--{boundary}--\r\n")
    return Raw(f"multipart/form-data; boundary={boundary}", data.encode())


def realistic(method, path, query, accept, spec_body):
    """The answer a real client expects for these operations, or None for the spec's example."""
    parts = path.split("/")[1:]
    if len(parts) < 3 or parts[:2] != ["v1", "projects"] or parts[2] not in PROJECTS:
        return None
    ref, rest = parts[2], parts[3:]
    if method == "GET" and rest == []:
        body = dict(spec_body) if isinstance(spec_body, dict) else {}
        body.update(PROJECTS[ref])
        body["database"] = {"host": f"db.{ref}.supabase.co", "version": "17.4.1.054",
                            "postgres_engine": "17", "release_channel": "ga"}
        return 200, body
    if method == "GET" and rest == ["functions"] and ref in FUNCTION_SLUGS:
        return 200, [function_object(ref, slug) for slug in FUNCTION_SLUGS[ref]]
    if method == "GET" and len(rest) == 2 and rest[0] == "functions" and rest[1] in FUNCTION_SLUGS.get(ref, []):
        return 200, function_object(ref, rest[1])
    if (method == "GET" and len(rest) == 3 and rest[0] == "functions" and rest[2] == "body"
            and rest[1] in FUNCTION_SLUGS.get(ref, []) and "multipart/form-data" in accept):
        return 200, function_files(ref, rest[1])
    if method == "POST" and rest == ["functions", "deploy"]:
        slug = dict(q.split("=", 1) for q in query.split("&") if "=" in q).get("slug", "hello-world")
        return 201, function_object(ref, slug, version=4)
    if method == "POST" and rest in (["database", "query"], ["database", "query", "read-only"]):
        return 201, SQL_ROWS
    return None


class Spec:
    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.routes = []
        for template, ops in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            statics = template.count("/") - template.count("{")
            for method, op in ops.items():
                if isinstance(op, dict) and "responses" in op:
                    self.routes.append((re.compile(pattern), method.upper(), op, statics))
        # Static segments win over parameters, as in the real router.
        self.routes.sort(key=lambda r: -r[3])

    def find(self, method, path):
        for pattern, m, op, _ in self.routes:
            if m == method and pattern.match(path):
                return op
        return None

    def resolve(self, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            name = schema["$ref"].split("/")[-1]
            schema = self.doc["components"]["schemas"][name]
        return schema

    def example(self, schema, depth=0, name=""):
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > 8:
            return None
        if name and SECRET_NAME.search(name) and not NOT_SECRET.search(name):
            t = schema.get("type")
            if t == "string" or (isinstance(t, list) and "string" in t) or "type" not in schema:
                return f"sk_live_CANARY_{name}"
        if "example" in schema:
            return schema["example"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.example(schema[key][0], depth + 1)
        if "allOf" in schema:
            out = {}
            for part in schema["allOf"]:
                v = self.example(part, depth + 1)
                if isinstance(v, dict):
                    out.update(v)
            return out
        t = schema.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        if t == "object" or "properties" in schema:
            return {k: self.example(v, depth + 1, k) for k, v in schema.get("properties", {}).items()}
        if t == "array":
            return [self.example(schema.get("items", {}), depth + 1)]
        if t == "integer":
            return 1
        if t == "number":
            return 1.5
        if t == "boolean":
            return True
        if t == "string":
            fmt = schema.get("format")
            if fmt == "date-time":
                return "2026-01-01T00:00:00Z"
            if fmt == "uuid":
                return "00000000-0000-4000-8000-000000000000"
            return "example"
        return None

    def answer(self, method, path, query="", accept=""):
        if (method, path) in LISTS:
            return 200, LISTS[(method, path)]
        op = self.find(method, path)
        if op is None:
            return 404, {"message": f"Cannot {method} {path}"}
        status, body = 200, None
        for code, resp in sorted(op["responses"].items()):
            if code.startswith("2"):
                resp = self.resolve(resp)
                content = (resp or {}).get("content", {}).get("application/json")
                status, body = int(code), (self.example(content["schema"]) if content else None)
                break
        return realistic(method, path, query, accept, body) or (status, body)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", required=True, help="file that receives one JSON line per request")
    ap.add_argument("--port-file", help="file the chosen port is written to")
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--lifetime", type=float, default=900, help="seconds before it stops by itself")
    args = ap.parse_args()
    spec = Spec(args.spec)
    lock = threading.Lock()
    record = open(args.record, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The head and the body go out in two writes: without TCP_NODELAY the second waits for
        # the peer's delayed ACK (about 40 ms per answer).
        disable_nagle_algorithm = True

        def handle_any(self):
            trailers = []
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()
                while True:
                    line = self.rfile.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    trailers.append(line.decode("latin-1").strip())
            else:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            entry = {
                "method": self.command,
                "path": self.path,
                "headers": [[k.lower(), v] for k, v in self.headers.items()],
                "body_bytes": len(body),
                "body": body.decode("utf-8", "replace")[:4096],
                "trailers": trailers,
            }
            with lock:
                record.write(json.dumps(entry) + "\n")
            status, payload = spec.answer(self.command, path, query, self.headers.get("accept") or "")
            # Tests ask for Supabase's own refusals and failures with this header.
            # (in the user agent, since the gateway forwards only allowlisted headers).
            agent = self.headers.get("user-agent") or ""
            forced = agent.split("standin-status/", 1)[1].split()[0] if "standin-status/" in agent else None
            if forced:
                status, payload = int(forced), {"message": f"stand-in answered {forced}"}
            if isinstance(payload, Raw):
                content_type, data = payload.content_type, payload.data
            else:
                content_type = None if payload is None else "application/json"
                data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if content_type:
                self.send_header("content-type", content_type)
            if status == 429:
                self.send_header("x-ratelimit-limit", "120")
                self.send_header("x-ratelimit-remaining", "0")
            if "standin-trailers" in agent and self.command != "HEAD":
                # The body in chunks, ended with trailers (tests of responses that end that way).
                self.send_header("transfer-encoding", "chunked")
                self.send_header("trailer", "x-standin-trailer")
                self.end_headers()
                half = len(data) // 2
                for part in (data[:half], data[half:]):
                    if part:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\nx-standin-trailer: CANARY_trailer\r\n\r\n")
                return
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, server.shutdown).start()
    print(f"stand-in upstream on 127.0.0.1:{port}", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
