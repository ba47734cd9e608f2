#!/usr/bin/env node
// Drives the Supabase MCP server (@supabase/mcp-server-supabase, pinned in package.json) over
// stdio with MCP JSON-RPC, as an AI client does: initialize, notifications/initialized,
// tools/list, then one tools/call per entry of the plan. Prints one JSON transcript on stdout.
//
// usage: node mcp_session.mjs PLAN.json
// PLAN: {"args": ["--api-url", "http://127.0.0.1:PORT", ...], "env": {"SUPABASE_ACCESS_TOKEN": "..."},
//        "calls": [{"name": "list_projects", "arguments": {}}, ...]}
// Every request has a deadline, and the server process is killed when the session ends.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, "node_modules", "@supabase", "mcp-server-supabase");
const serverPkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const cli = path.join(pkgDir, serverPkg.bin["mcp-server-supabase"]);

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const DEADLINE_MS = plan.deadline_ms ?? 30000;

const child = spawn(process.execPath, [cli, ...plan.args], {
  env: { PATH: process.env.PATH, HOME: process.env.HOME, ...plan.env },
  stdio: ["pipe", "pipe", "pipe"],
});
let stderr = "";
child.stderr.on("data", (d) => { stderr += d; });
const hardStop = setTimeout(() => { finish({ error: "session deadline" }, 2); }, DEADLINE_MS * 4);

let nextId = 1;
const pending = new Map();
const notifications = [];
const serverRequests = [];
let buffer = "";
child.stdout.on("data", (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    if (!line) continue;
    let msg;
    try { msg = JSON.parse(line); } catch { notifications.push({ unparsed: line }); continue; }
    if (msg.id !== undefined && (msg.result !== undefined || msg.error !== undefined) && pending.has(msg.id)) {
      const { resolve, timer } = pending.get(msg.id);
      clearTimeout(timer);
      pending.delete(msg.id);
      resolve(msg);
    } else if (msg.id !== undefined && msg.method) {
      // A request from the server (roots, sampling, elicitation): this client offers none.
      serverRequests.push(msg.method);
      send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "not supported by this client" } });
    } else {
      notifications.push(msg);
    }
  }
});

function send(msg) { child.stdin.write(JSON.stringify(msg) + "\n"); }

function request(method, params) {
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve({ id, error: { code: "timeout", message: `no answer to ${method} in ${DEADLINE_MS} ms` } });
    }, DEADLINE_MS);
    pending.set(id, { resolve, timer });
    send({ jsonrpc: "2.0", id, method, params });
  });
}

let done = false;
function finish(out, code = 0) {
  if (done) return;
  done = true;
  clearTimeout(hardStop);
  child.kill("SIGTERM");
  out.stderr = stderr.slice(-4000);
  out.server_requests = serverRequests;
  process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(code));
}

child.on("exit", (code, signal) => {
  if (!done) finish({ error: `MCP server exited early (code ${code}, signal ${signal})` }, 2);
});

const out = { server: `${serverPkg.name}@${serverPkg.version}` };
const init = await request("initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "bollard-client-test", version: "1.0.0" },
});
out.initialize = init.result ?? init.error;
if (init.error) finish(out, 1);
send({ jsonrpc: "2.0", method: "notifications/initialized" });

const listed = await request("tools/list", {});
out.tools = listed.result ? listed.result.tools.map((t) => ({ name: t.name, annotations: t.annotations })) : listed.error;

out.calls = [];
for (const call of plan.calls) {
  const r = await request("tools/call", { name: call.name, arguments: call.arguments ?? {} });
  const entry = { name: call.name, arguments: call.arguments ?? {} };
  if (r.error) {
    entry.rpc_error = r.error;
  } else {
    entry.is_error = r.result.isError === true;
    entry.text = (r.result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
    entry.structured = r.result.structuredContent ?? null;
  }
  out.calls.push(entry);
}
out.notifications = notifications.length;
finish(out, 0);
