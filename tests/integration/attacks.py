"""The attack table for test_attacks.py: (class, request line target or raw bytes, extra headers).

Every case targets the agent's own project P1 in a non-canonical form, or another project P2, or
carries a forged credential or method; none may reach the upstream."""

P1 = "abcdefghijklmnopqrst"
P2 = "zyxwvutsrqponmlkjihg"
F1 = f"/v1/projects/{P1}/functions"
F2 = f"/v1/projects/{P2}/functions"

CASES = []


def add(cls, target, headers=(), method="GET"):
    CASES.append((cls, method, target if isinstance(target, bytes) else target.encode("latin-1"), tuple(headers)))


for t in [f"/v1/projects/{P1}/../{P2}/functions", f"/v1/projects/{P1}/./../{P2}/functions", f"{F1}/..",
          f"/v1/projects/{P1}/functions/../../{P2}/functions", f"/v1/./projects/{P2}/functions"]:
    add("dot-segment", t)
for t in [f"/v1/projects/{P1}/%2e%2e/{P2}/functions", f"/v1/projects/{P1}/%2E%2E/{P2}/functions",
          f"/v1/projects/{P1}/.%2e/{P2}/functions", f"/v1/projects/{P1}/%2e./{P2}/functions",
          f"/v1/projects/{P2}/%2e/functions", f"/v1/%2e%2e/v1/projects/{P2}/functions"]:
    add("encoded-dot", t)
for t in [f"/v1/projects/{P1}%2F..%2F{P2}/functions", f"/v1/projects/{P1}%2f..%2f{P2}/functions",
          f"/v1/projects%2F{P2}/functions", f"{F1}/hello%2Fworld"]:
    add("encoded-slash", t)
for t in [f"/v1/projects/{P1}%5C..%5C{P2}/functions", f"/v1/projects/{P1}%5c..%5c{P2}/functions", f"{F1}%5Chello"]:
    add("encoded-backslash", t)
for t in [f"/v1/projects/{P1}\\..\\{P2}/functions", f"/v1\\projects\\{P2}\\functions"]:
    add("backslash", t)
for t in [f"/v1/projects/{P1}/%252e%252e/{P2}/functions", f"/v1/projects/{P1}%252F..%252F{P2}/functions",
          f"{F1}/%2541", f"/v1/projects/%25{P2}/functions"]:
    add("double-encoding", t)
for t in [f"/v1/projects/{P2};/functions", f"/v1/projects/{P1};x=1/../{P2}/functions", f"{F1};jsessionid=1",
          f"/v1/projects;/{P2}/functions"]:
    add("path-parameter", t)
for t in [f"//v1/projects/{P2}/functions", f"/v1//projects/{P2}/functions", f"/v1/projects//{P2}/functions",
          f"/v1/projects/{P2}//functions"]:
    add("empty-segment", t)
for t in [f"{F2}/", f"/v1/projects/{P2}/"]:
    add("trailing-slash", t)
for t in [F1.encode() + b"\x01", F1.encode() + b"\x7f", b"/v1/projects/\x1b" + P1.encode() + b"/functions",
          F1.encode() + b"\x0b"]:
    add("control-byte", t)
for t in [F1.encode() + b"\x00", b"/v1/projects/" + P2.encode() + b"\x00/functions"]:
    add("nul", t)
for t in [F1.encode() + b"\xff", b"/v1/projects/" + P1.encode() + b"/funct\xc3\xa9ons", b"/v1/proj\xe9cts/" + P2.encode(),
          F1.encode() + b"/\xe2\x80\xae"]:
    add("non-ascii", t)
for t in [f"{F2}#frag", f"{F2}%23", f"/v1/projects/{P2}#/../{P1}/functions"]:
    add("fragment", t)
for t in [f"http://api.supabase.com{F2}", f"https://evil.example{F2}", f"http://127.0.0.1{F2}", f"HTTP://api.supabase.com{F2}"]:
    add("absolute-form", t)
for t in ["*", f"api.supabase.com:443"]:
    add("asterisk-authority-form", t)
for t in ["/v1/projects/" + "a" * 3000, F1 + "?" + "q=1&" * 700, "/" + "x/" * 1200]:
    add("over-long", t)
for t in [f"/V1/projects/{P2}/functions", f"/v1/PROJECTS/{P2}/functions", f"/v1/projects/{P2.upper()}/functions",
          f"/v1/projects/{P1.upper()}/functions"]:
    add("case-variant", t)
for t in [f"/v1/projects/{P1}/api-keys/not-a-uuid", f"/v1/projects/{P1}/database/migrations/12ab",
          f"/v1/organizations/ac.me/members", f"{F1}/hello.world", f"/v1/branches/main"]:
    add("invalid-parameter", t)
for t in [f"{F1}?apikey=sbp_x", f"{F1}?access_token=x", f"{F1}?ACCESS_TOKEN=x", f"{F1}?a=1&token=x", f"{F1}?ap%69key=x"]:
    add("credential-in-query", t)
for h in ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"]:
    add("method-override", f"/v1/projects/{P1}", [(h, "DELETE")])
for m in ["get", "Get", "PURGE", "MKCOL"]:
    add("method", F1, method=m)
for m in ["OPTIONS", "TRACE", "HEAD"]:
    add("unlisted-method", F1, method=m)
add("credential", F1, [("authorization", "Bearer sbp_other")], method="GET")
add("credential", F1, [("authorization", "Basic c2JwX3g6eA==")])
add("credential", F1, [("authorization", "Bearer")])
add("credential", F1, [("x-bollard-agent", "admin"), ("authorization", "Bearer sbp_other")])
for h in [("x_bollard_agent", "admin"), ("x_bollard_decision", "allow")]:
    add("underscore-header", F2, [h])
for h in [("x-bollard-decision", "allow"), ("x-bollard-agent", "admin"), ("x-bollard-endpoint", "list_functions")]:
    add("forged-annotation", F2, [h])
add("scope", F2)
add("scope", f"/v1/organizations/other-org/members")
add("scope", f"/v1/branches/{P2}")
add("unknown-endpoint", "/v1/unknown")
add("unknown-endpoint", f"/v2/projects/{P1}")
add("unknown-endpoint", f"/v1/projects/{P1}/functions/a/b/c")
# The positive model (issue 12): headers that rewrite the request elsewhere are refused; only the
# query parameters an operation declares pass, each once, with a value of its kind.
for h, v in [("X-Original-URL", f"/v1/projects/{P2}"), ("X-Rewrite-URL", f"/v1/projects/{P2}"),
             ("X-Forwarded-Method", "DELETE"), ("X-Original-Method", "DELETE")]:
    add("rewrite-header", f"/v1/projects/{P1}", [(h, v)])
for t in [f"/v1/projects/{P1}?_method=DELETE", f"{F1}?_method=POST"]:
    add("method-parameter", t)
add("undeclared-parameter", f"/v1/projects/{P1}/database/query?read_only=true", method="POST")
add("undeclared-parameter", "/v1/projects?organization_slug=other-org", method="POST")
add("undeclared-parameter", f"{F1}?limit=1")
add("parameter-pollution", f"/v1/projects/{P1}/api-keys?reveal=false&reveal=true")
add("parameter-type", f"/v1/projects/{P1}/api-keys?reveal=1")
add("parameter-type", f"/v1/projects/{P1}/api-keys?reveal=%74rue%00")
