// The Bollard console: four pages over the console's JSON API. Every text from the policy or the
// audit trail is set with textContent, never parsed as HTML.
"use strict";

// The access token comes once in the printed URL (?token=...), leaves the address bar, and is
// kept in this tab's sessionStorage, which no other origin (another port included) can read.
// It is sent as a header, never as a cookie, so no other server on this host ever receives it.
const TOKEN = (() => {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem("bollard-token", given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem("bollard-token") || "";
})();
const BRIEF_AREAS = ["projects", "organizations", "database", "edge_functions", "secrets", "auth_config",
  "project_config", "storage", "api_keys", "branches"];
// What each of the brief's areas covers, in the brief's words.
const AREA_TEXT = {
  projects: "List, read, create and delete projects; pause or restore a project.",
  organizations: "List the organizations the account belongs to, and create one.",
  database: "Run SQL (read-only SQL with Read), list and apply migrations, database webhooks.",
  edge_functions: "List, read, create, update, deploy and delete Edge Functions.",
  secrets: "List, create and delete a project's secrets: the credentials functions run with.",
  auth_config: "Read and update a project's auth configuration (sign-up rules, SMTP, providers).",
  project_config: "Read and update live Postgres and storage settings.",
  storage: "List a project's storage buckets.",
  api_keys: "List and create a project's data-API keys.",
  branches: "List, create, merge and delete preview database branches.",
};
const LEVELS = ["off", "read", "full"];

let state = null;      // /api/state
let timer = null;      // activity polling

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// A form's control by name (form.id, form.name and form.method are the form's own properties).
function field(form, name) { return form.elements.namedItem(name); }

function operator() { return document.getElementById("operator").value.trim(); }

async function api(method, path, body) {
  const opts = { method, headers: { authorization: `Bearer ${TOKEN}` }, credentials: "omit" };
  if (body !== undefined) {
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = {};
  try { data = await r.json(); } catch (_) { data = { error: r.statusText }; }
  if (r.status === 401) noAccess();
  if (!r.ok) throw new Error(data.error || `${r.status}`);
  return data;
}

// Without the token the page shows only how to open it.
function noAccess() {
  document.querySelector("main").replaceChildren(el("section", { class: "page card no-access" },
    el("h1", {}, "No access token"),
    el("p", {}, "Open the console with the URL that ", el("code", {}, "bollard console"),
      " printed: it carries the access token, which this tab then keeps.")));
}

function toast(text, bad) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = bad ? "toast bad" : "toast";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 4000);
}

function when(ts) {
  const d = new Date(ts);
  if (isNaN(d)) return ts || "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function until(ts) {
  const ms = new Date(ts) - Date.now();
  if (isNaN(ms)) return "";
  const m = Math.round(ms / 60000);
  if (m < 1) return "ends in under a minute";
  if (m < 120) return `ends in ${m} min`;
  return `ends in ${Math.round(m / 60)} h`;
}

function area(name) { return state.areas.find((a) => a.name === name); }
function agentName(id) { const a = state && state.agents.find((x) => x.id === id); return a ? a.name : id; }

// ---------------------------------------------------------------- pages

function show(page) {
  if (!["agents", "activity", "approvals", "explain"].includes(page)) page = "agents";
  for (const s of document.querySelectorAll(".page")) s.hidden = s.id !== `page-${page}`;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.page === page);
  clearInterval(timer);
  if (page === "activity") { loadActivity(); timer = setInterval(() => { if (document.querySelector('#filters [name=live]').checked) loadActivity(); }, 2000); }
  if (page === "approvals") { loadApprovals(); timer = setInterval(loadApprovals, 3000); }
}

async function loadState() {
  state = await api("GET", "/api/state");
  const line = document.getElementById("policy-line");
  line.textContent = "";
  line.append("Policy ", el("code", {}, state.policy), ` (${state.mode} mode, ${state.agents.length} agent(s))`,
    " · audit ", el("code", {}, state.audit),
    state.ecds ? el("span", {}, " · hot reload through ", el("code", {}, state.ecds)) : " · no --ecds file: restart or reload Envoy yourself after a change");
  renderAgents();
  fillSelects();
}

function fillSelects() {
  for (const sel of [document.querySelector("#filters [name=agent]"), document.querySelector("#explain-form [name=agent]")]) {
    const keep = sel.value;
    const first = sel.closest("#filters") ? [el("option", { value: "" }, "any")] : [];
    sel.replaceChildren(...first, ...state.agents.map((a) => el("option", { value: a.id }, `${a.name} (${a.id})`)));
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }
  const areaSel = document.querySelector("#filters [name=area]");
  if (areaSel.options.length <= 1) for (const a of state.areas) areaSel.append(el("option", { value: a.name }, a.label));
}

// ---------------------------------------------------------------- agents

function editOf(agent) {
  return {
    name: agent.name,
    projects: agent.projects.slice(),
    organizations: agent.organizations.slice(),
    access: Object.assign({}, agent.access),
    allow: agent.allow.slice(),
    deny: agent.deny.slice(),
  };
}

function list(text) { return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean); }

function renderAgents() {
  const box = document.getElementById("agents");
  box.replaceChildren(...state.agents.map(agentCard));
}

function agentCard(agent) {
  const base = editOf(agent);
  const edit = editOf(agent);
  const card = el("article", { class: "card agent", "data-agent": agent.id });
  const preview = el("div", { class: "preview", hidden: true });
  let seq = 0;

  const changed = () => JSON.stringify(edit) !== JSON.stringify(base);
  async function refresh() {
    for (const row of card.querySelectorAll(".cap")) row.classList.toggle("changed", edit.access[row.dataset.area] !== base.access[row.dataset.area]);
    for (const row of card.querySelectorAll(".cap")) paintEndpoints(row, agent, edit);
    if (!changed()) { preview.hidden = true; return; }
    const mine = ++seq;
    const r = await api("POST", "/api/preview", { agent: agent.id, edit }).catch((e) => ({ ok: false, error: e.message, changes: [] }));
    if (mine !== seq) return;
    preview.hidden = false;
    const save = el("button", { class: "primary", type: "button", disabled: !r.ok, onclick: () => saveAgent(agent, edit) }, "Save");
    const discard = el("button", { type: "button", onclick: () => renderAgents() }, "Discard");
    preview.replaceChildren(
      el("h3", {}, r.ok ? "If you save:" : "This change cannot be saved:"),
      r.ok ? el("ul", { class: "changes" }, r.changes.map((c) => el("li", {}, c))) : el("p", { class: "error" }, r.error),
      el("div", { class: "actions" }, save, discard));
  }

  const keys = agent.keys.map((k) => el("span", { class: "tag mono", title: "first digits of the key's SHA-256" },
    `sha256 ${k.sha256}`, k.not_after ? ` · until ${when(k.not_after)}` : " · no expiry"));
  card.append(el("div", { class: "agent-head" },
    el("div", {}, el("h2", {}, agent.name), el("div", { class: "id" }, agent.id, " · Supabase")),
    el("div", {}, keys)));

  const listField = (label, key, placeholder, help) => {
    const input = el("input", { value: edit[key].join(", "), placeholder, "data-field": key, spellcheck: "false" });
    input.addEventListener("input", () => { edit[key] = list(input.value); refresh(); });
    return [el("dt", {}, label), el("dd", {}, input, help ? el("div", { class: "hint" }, help) : null)];
  };
  const nameInput = el("input", { value: edit.name, "data-field": "name" });
  nameInput.addEventListener("input", () => { edit.name = nameInput.value; refresh(); });
  const other = Object.entries(agent.other).map(([k, v]) => [el("dt", {}, k), el("dd", {}, el("code", {}, JSON.stringify(v)))]);
  card.append(el("dl", { class: "facts" },
    el("dt", {}, "Name"), el("dd", {}, nameInput),
    listField("Projects", "projects", "project refs, or *", "20-letter project refs; * for every project"),
    listField("Organizations", "organizations", "organization slugs, or *"),
    listField("Also allow", "allow", "endpoint ids or permissions", "exceptions on top of the areas below"),
    listField("Always deny", "deny", "endpoint ids or permissions", "beats every grant"),
    agent.rate_limit ? [el("dt", {}, "Rate limit"), el("dd", {}, `${agent.rate_limit} requests per minute`)] : [],
    other));

  const caps = el("div", { class: "caps" });
  const extra = el("details", { class: "more-areas" }, el("summary", {}, "The rest of the API (8 more areas)"));
  for (const a of state.areas) {
    const row = capRow(a, edit, refresh);
    if (BRIEF_AREAS.includes(a.name)) caps.append(row); else extra.append(row);
    if (!BRIEF_AREAS.includes(a.name) && edit.access[a.name] !== "off") extra.open = true;
  }
  caps.append(extra);
  card.append(caps, preview);
  for (const row of card.querySelectorAll(".cap")) paintEndpoints(row, agent, edit);
  return card;
}

function capRow(a, edit, onchange) {
  const reads = a.endpoints.filter((e) => e.class === "read").length;
  const seg = el("div", { class: "seg", role: "radiogroup", "aria-label": a.label });
  const group = `level-${++capRow.groups}`;
  for (const level of LEVELS) {
    const input = el("input", { type: "radio", name: group, value: level, checked: edit.access[a.name] === level });
    input.addEventListener("change", () => { edit.access[a.name] = level; onchange(); });
    seg.append(el("label", { "data-level": level }, input, el("span", { class: level }, level[0].toUpperCase() + level.slice(1))));
  }
  const table = el("table", {}, a.endpoints.map((e) => el("tr", { "data-endpoint": e.id },
    el("td", { class: "need" }, e.class === "read" ? "Read" : "Full"),
    el("td", {}, e.action), el("td", { class: "mono" }, `${e.method} ${e.path}`))));
  const text = AREA_TEXT[a.name] || `${a.endpoints.length} endpoints.`;
  return el("div", { class: "cap", "data-area": a.name },
    el("div", { class: "what" }, el("b", {}, a.label), el("span", {}, text)),
    seg,
    el("details", {}, el("summary", {}, `What each level opens: Read ${reads}, Full all ${a.endpoints.length} endpoints`), table));
}

capRow.groups = 0;

// Marks the endpoints the edited agent would reach (allow and deny by endpoint id; permission
// names are left to the server's preview).
function paintEndpoints(row, agent, edit) {
  const level = edit.access[row.dataset.area];
  for (const tr of row.querySelectorAll("tr")) {
    const id = tr.dataset.endpoint;
    const need = tr.firstChild.textContent === "Read" ? "read" : "full";
    const byLevel = level === "full" || (level === "read" && need === "read");
    const open = !edit.deny.includes(id) && (byLevel || edit.allow.includes(id));
    tr.className = open ? "open" : "closed";
  }
}

async function saveAgent(agent, edit) {
  try {
    const r = await api("POST", "/api/save", { agent: agent.id, edit, version: state.version, by: operator() });
    await loadState();
    toast(r.reloaded ? "Saved; Envoy picks the new policy up by hot reload." : "Saved.");
  } catch (e) {
    toast(e.message, true);
  }
}

document.getElementById("new-agent").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    const r = await api("POST", "/api/agents", { id: field(f, "id").value.trim(), name: field(f, "name").value.trim(), version: state.version, by: operator() });
    const box = document.getElementById("new-key");
    box.replaceChildren(el("b", {}, `The key for ${r.id}, shown only now:`), el("code", { id: "new-key-value" }, r.key),
      el("div", { class: "hint" }, "Hand it to the agent; it sends it as 'Authorization: Bearer <key>'. Bollard keeps only its SHA-256."));
    box.hidden = false;
    f.reset();
    await loadState();
  } catch (e) {
    toast(e.message, true);
  }
});

// ---------------------------------------------------------------- activity

function activityQuery() {
  const f = document.getElementById("filters");
  const q = new URLSearchParams();
  for (const k of ["agent", "decision", "area"]) if (field(f, k).value) q.set(k, field(f, k).value);
  const since = field(f, "since").value;
  if (since) q.set("since", new Date(Date.now() - Number(since) * 1000).toISOString());
  return q.toString();
}

const opened = new Set();
let lastActivity = "";

async function loadActivity() {
  let r;
  try { r = await api("GET", `/api/activity?${activityQuery()}`); } catch (e) { toast(e.message, true); return; }
  const ol = document.getElementById("activity");
  const seen = JSON.stringify(r);
  if (seen === lastActivity && ol.childElementCount) return;
  lastActivity = seen;
  document.getElementById("activity-summary").textContent =
    `${r.records.length} shown of ${r.total} record(s)` + (r.records.length === 500 ? " (the newest 500)" : "");
  ol.replaceChildren(...r.records.map(activityItem));
  if (!r.records.length) ol.append(el("li", { class: "empty" }, "Nothing matches these filters."));
}

function activityItem(rec) {
  const key = `${rec.ts}|${rec.request_id || rec.summary}`;
  if (rec.kind === "operator") {
    return el("li", { class: "operator" }, el("div", { class: "line" },
      el("time", {}, when(rec.ts)), el("span", { class: "badge operator" }, "change"), el("span", {}, rec.summary)));
  }
  const deny = rec.decision === "deny";
  const waiting = rec.reason === "approval_required";
  const li = el("li", { class: deny ? "deny" : "allow", "data-agent": rec.agent || "" },
    el("div", { class: "line" },
      el("time", {}, when(rec.ts)),
      el("span", { class: `badge ${waiting ? "wait" : deny ? "deny" : "allow"}` }, waiting ? "approval" : deny ? `refused ${rec.status}` : `allowed ${rec.status}`),
      el("span", {}, rec.summary)));
  if (waiting) {
    li.querySelector(".line").lastChild.append(" ", el("a", { href: "#approvals" }, "Approve or dismiss it"));
  } else if (deny) {
    li.title = "Open the explanation";
    const open = async () => {
      if (li.querySelector(".why")) { li.querySelector(".why").remove(); opened.delete(key); return; }
      opened.add(key);
      const why = el("div", { class: "why" }, "…");
      li.append(why);
      if (!rec.agent) { why.textContent = "No agent was identified, so no policy rule applies: the key was missing or unknown."; return; }
      try {
        const x = await api("POST", "/api/explain", { agent: rec.agent, method: rec.method, path: rec.path });
        why.replaceChildren(explanation(x, true));
      } catch (e) { why.textContent = e.message; }
    };
    li.addEventListener("click", (ev) => { if (!ev.target.closest(".why")) open(); });
    if (opened.has(key)) { opened.delete(key); open(); }
  }
  return li;
}

document.getElementById("filters").addEventListener("change", loadActivity);

// ---------------------------------------------------------------- approvals

let lastApprovals = "";

// Polled while the page is open; redrawn only when something changed, so a form being filled
// keeps what was typed.
async function loadApprovals() {
  let r;
  try { r = await api("GET", "/api/approvals"); } catch (e) { toast(e.message, true); return; }
  const seen = JSON.stringify(r);
  if (seen === lastApprovals) return;
  lastApprovals = seen;
  const pend = document.getElementById("pending");
  pend.replaceChildren(...r.pending.map((p) => pendingCard(p, r.version)));
  if (!r.pending.length) pend.append(el("p", { class: "empty" }, "No call is waiting for approval."));
  const count = document.getElementById("pending-count");
  count.textContent = r.pending.length;
  count.hidden = !r.pending.length;
  const act = document.getElementById("active");
  if (!r.active.length) act.replaceChildren(el("p", { class: "empty" }, "No approval or elevation is in force."));
  else act.replaceChildren(el("table", { class: "grants" },
    el("tr", {}, ["Grant", "Agent", "What", "Ends", "Uses", "Approved by"].map((h) => el("th", {}, h))),
    r.active.map((g) => el("tr", { "data-grant": g.id },
      el("td", { class: "mono" }, g.id), el("td", {}, agentName(g.agent)),
      el("td", {}, g.approval ? el("span", {}, "the call ", el("code", {}, g.approval)) : JSON.stringify({ access: g.access, allow: g.allow })),
      el("td", {}, when(g.not_after), el("div", { class: "meta" }, until(g.not_after))),
      el("td", {}, g.uses === undefined ? "" : String(g.uses)), el("td", {}, g.approved_by || "")))));
  const note = document.getElementById("grants-note");
  note.hidden = r.core_reads_grants;
  note.textContent = "This build's policy code does not read grants yet: the console checks their shape and writes them as the interface gives them, for the gateway that does.";
}

function pendingCard(p, version) {
  const form = el("form", { class: "row" },
    el("label", {}, "For", el("select", { name: "minutes" },
      el("option", { value: "15" }, "15 minutes"), el("option", { value: "60", selected: true }, "1 hour"),
      el("option", { value: "480" }, "8 hours"), el("option", { value: "1440" }, "24 hours"))),
    el("label", {}, "Uses", el("input", { type: "number", name: "uses", min: "1", max: "1000", value: "1" })),
    el("label", {}, "Approved by", el("input", { name: "approved_by", value: operator(), required: true, placeholder: "your name" })),
    el("button", { class: "primary", type: "submit" }, "Approve"),
    el("button", { class: "danger", type: "button", name: "dismiss" }, "Dismiss"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/api/approve", { approval_id: p.approval_id, minutes: Number(field(form, "minutes").value),
        uses: Number(field(form, "uses").value), approved_by: field(form, "approved_by").value, version });
      toast(`Approved until ${when(r.not_after)}; the agent can retry the same call.`);
      await loadState();
      loadApprovals();
    } catch (e) { toast(e.message, true); }
  });
  field(form, "dismiss").addEventListener("click", async () => {
    try {
      await api("POST", "/api/dismiss", { approval_id: p.approval_id, by: operator() });
      toast("Dismissed.");
      loadApprovals();
    } catch (e) { toast(e.message, true); }
  });
  const where = [p.project && `project ${p.project}`, p.organization && `organization ${p.organization}`].filter(Boolean).join(", ");
  return el("article", { class: "card approval", "data-approval": p.approval_id },
    el("div", { class: "meta" }, `${when(p.ts)} · ${agentName(p.agent)} (${p.agent})`),
    el("p", { class: "call" }, p.summary),
    el("div", {}, el("code", {}, `${p.method} ${p.path}`), where ? ` · ${where}` : "", p.endpoint ? el("span", { class: "meta" }, ` · endpoint ${p.endpoint}`) : "",
      el("div", { class: "meta mono" }, `approval ${p.approval_id}`)),
    form);
}

// ---------------------------------------------------------------- explain

function explanation(x, brief) {
  const rows = [];
  const add = (k, v) => { if (v !== null && v !== undefined && v !== "") rows.push(el("dt", {}, k), el("dd", {}, v)); };
  if (!brief) {
    add("Status", x.status ? `${x.status} from the gateway; not forwarded` : "forwarded to Supabase with the real token");
    if (x.endpoint) add("Endpoint", el("span", {}, el("code", {}, x.endpoint.id), ` (${x.endpoint.method} ${x.endpoint.path})`));
    if (x.endpoint) add("Area", `${x.endpoint.area_label}: the agent's level is ${x.endpoint.level}; this needs ${x.endpoint.class === "read" ? "read" : "full"}`);
    if (x.endpoint) add("Permission", x.endpoint.permissions.join(" + ") || "(none)");
    add("Project", x.project);
    add("Organization", x.organization);
    add("Reason", el("code", {}, x.reason));
  }
  add(brief ? "Why, under today's policy" : "Message", x.message || (brief ? `Today it would be allowed (${x.reason}).` : null));
  add("Summary", x.summary);
  for (const n of x.notes) add("Note", n);
  return el("div", {},
    brief ? null : el("div", { class: `verdict ${x.decision}` }, x.decision === "allow" ? "Allowed" : "Refused", x.enforced ? "" : " (monitor mode: forwarded anyway)"),
    el("dl", { class: "facts" }, rows));
}

document.getElementById("explain-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const out = document.getElementById("explain-result");
  try {
    const x = await api("POST", "/api/explain", { agent: field(f, "agent").value, method: field(f, "method").value,
      path: field(f, "path").value, body: field(f, "body").value || null });
    out.replaceChildren(el("div", { class: "card result" }, explanation(x, false)));
  } catch (e) {
    out.replaceChildren(el("div", { class: "card" }, el("p", { class: "error" }, e.message)));
  }
});

// ---------------------------------------------------------------- start

const who = document.getElementById("operator");
who.value = localStorage.getItem("bollard-operator") || "";
who.addEventListener("change", () => localStorage.setItem("bollard-operator", who.value.trim()));
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
if (!TOKEN) noAccess();
else loadState().then(() => { show(location.hash.slice(1)); api("GET", "/api/approvals").then((r) => {
  const c = document.getElementById("pending-count"); c.textContent = r.pending.length; c.hidden = !r.pending.length; }).catch(() => {}); })
  .catch((e) => toast(e.message, true));
