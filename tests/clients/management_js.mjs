#!/usr/bin/env node
// A short supabase-management-js script (pinned in package.json) pointed at the gateway with the
// client's own `baseUrl` option: each step calls one method of SupabaseManagementAPI, as a deploy
// script would, and records what the script saw. Prints one JSON transcript on stdout.
//
// usage: node management_js.mjs PLAN.json
// PLAN: {"baseUrl": "http://127.0.0.1:PORT", "accessToken": "sbp_...",
//        "steps": [{"method": "listAllProjects", "args": []}, ...]}
// An argument {"$file": {"name": "index.ts", "content": "...", "type": "application/typescript"}}
// becomes a File (for deployAFunction's multipart body).
import { readFileSync } from "node:fs";
import { SupabaseManagementAPI, SupabaseManagementAPIError } from "supabase-management-js";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const api = new SupabaseManagementAPI({ accessToken: plan.accessToken, baseUrl: plan.baseUrl });

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    if (value.$file) return new File([value.$file.content], value.$file.name, { type: value.$file.type });
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

const steps = [];
for (const step of plan.steps) {
  const entry = { method: step.method };
  try {
    const r = await api[step.method](...revive(step.args ?? []));
    Object.assign(entry, { ok: true, status: r.status, data: r.data ?? null,
      decision: r.headers.get("x-bollard-decision") });
  } catch (e) {
    if (e instanceof SupabaseManagementAPIError) {
      Object.assign(entry, { ok: false, status: e.status, data: e.data ?? null, message: e.message,
        decision: e.headers.get("x-bollard-decision") });
    } else {
      Object.assign(entry, { ok: false, status: null, error: String(e) });
    }
  }
  steps.push(entry);
}
process.stdout.write(JSON.stringify({ steps }) + "\n");
