import { RENDERERS_JS } from "./dashboard-renderers.js";
import { SUBMIT_FORM_JS } from "./submit-form.js";
import { WORKFLOW_VIEW_JS } from "./workflow-view.js";

/**
 * The page's script, served at /dashboard.js (the page allows scripts from its own origin only): routing
 * between the job list and a job, the API calls, the event stream, search, cancel, retry and re-run.
 */
const APP_JS = String.raw`
const $ = (id) => document.getElementById(id);
const PAGE = 50;
let key = sessionStorage.getItem("ollama-coder-key") || "";
let view = { job: null, workflow: null, itemOffset: 0 };
let stream = null;
const fmtTime = (t) => t ? new Date(t * 1000).toLocaleString() : "";
const fmtEta = (s) => s == null ? "" : s === 0 ? "—" : s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
const jobType = (j) => j.type || j.job_id.replace(/-[0-9a-f]{12}$/, "");

/** A FastAPI-shaped error as one line: "detail", or "loc: msg; …" for a 422. */
function detailText(body, fallback) {
  const d = body && typeof body === "object" ? body.detail : null;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((x) => ((x.loc || []).join(".") + ": " + x.msg)).join("; ");
  return fallback;
}

async function api(path, init) {
  init = init || {};
  const headers = Object.assign({}, init.headers || {});
  if (key) headers["authorization"] = "Bearer " + key;
  const res = await fetch(path, Object.assign({}, init, { headers }));
  if (res.status === 401) { askKey(); throw new Error("unauthorized"); }
  const body = (res.headers.get("content-type") || "").includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error(detailText(body, res.statusText));
  return body;
}
const postJson = (path, body) => api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function askKey() { $("keyButton").classList.remove("hidden"); $("keyModal").classList.remove("hidden"); $("keyInput").focus(); }
$("keyButton").onclick = askKey;
$("keySave").onclick = () => {
  key = $("keyInput").value.trim(); sessionStorage.setItem("ollama-coder-key", key);
  $("keyModal").classList.add("hidden"); startStream(); route();
};
$("keyInput").addEventListener("keydown", (e) => { if (e.key === "Enter") $("keySave").click(); });

for (const s of CONFIG.jobStatuses) $("statusFilter").append(el("option", { text: s }));
for (const t of CONFIG.jobTypes) $("typeFilter").append(el("option", { text: t }));
for (const s of CONFIG.itemStatuses) $("itemFilter").append(el("option", { text: s }));

async function loadStats() {
  const { stats } = await api("/batch/stats");
  const box = $("stats"); box.replaceChildren();
  for (const k of ["total", ...CONFIG.jobStatuses]) box.append(el("span", { class: "chip" }, k + " ", el("b", { text: stats[k] ?? 0 })));
}

/** Rows whose search text holds every word of the query stay; the others are hidden. */
function applySearch(rows, query) {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  for (const row of rows) row.classList.toggle("hidden", !words.every((w) => (row.dataset.search || "").includes(w)));
}
const searchJobs = () => applySearch($("jobRows").querySelectorAll("tr[data-job]"), $("jobSearch").value);
const searchItems = () => applySearch($("itemRows").querySelectorAll("tr[data-item]"), $("itemSearch").value);
$("jobSearch").addEventListener("input", searchJobs);
// Searching items looks through the first SEARCH_LIMIT of them at once, not only the page shown.
const SEARCH_LIMIT = 1000;
let searching = false;
$("itemSearch").addEventListener("input", () => {
  const now = $("itemSearch").value.trim() !== "";
  if (now === searching) { searchItems(); return; }
  searching = now; view.itemOffset = 0; loadItems().catch(() => {});
});

function jobRow(j) {
  const p = (j.metadata && j.metadata.progress) || {};
  const c = jobCounts(j);
  const open = () => { location.hash = "#/jobs/" + j.job_id; };
  return el("tr", { class: "clickable", tabindex: "0", "data-job": j.job_id, "data-search": [j.job_id, jobType(j), j.status].join(" ").toLowerCase(), onclick: open, onkeydown: (e) => { if (e.key === "Enter") open(); } },
    el("td", {}, el("code", { text: j.job_id })), el("td", { text: jobType(j) }),
    el("td", {}, badge(j.status)), el("td", { class: "num priority", text: j.priority ?? 0 }), el("td", {}, progressBar(c, false)),
    el("td", { class: "num", text: (p.processed ?? c.ok + c.bad) + " / " + c.total }),
    el("td", { class: "num failed " + (c.bad ? "failed-count" : "muted"), text: c.bad }),
    el("td", { class: "num", text: p.items_per_second ?? "" }), el("td", { class: "num", text: fmtEta(p.estimated_remaining_seconds) }),
    el("td", { class: "muted", text: fmtTime(j.created_at) }));
}

async function loadJobs() {
  const q = new URLSearchParams({ limit: "100" });
  if ($("statusFilter").value) q.set("status", $("statusFilter").value);
  if ($("typeFilter").value) q.set("job_type", $("typeFilter").value);
  const { jobs: list, total } = await api("/batch/jobs?" + q);
  $("jobRows").replaceChildren(...list.map(jobRow));
  if (list.length === 0) $("jobRows").append(el("tr", {}, el("td", { colspan: "10", class: "muted", text: "No jobs yet. Submit one above, with POST /batch/agent-tasks or with \"ollama-coder submit\"." })));
  $("listTotal").textContent = total + " job(s)";
  searchJobs();
}

function updateJobRow(j) {
  const row = document.querySelector('tr[data-job="' + CSS.escape(j.job_id) + '"]');
  if (!row) { if (!view.job) scheduleList(); return; }
  const statusFilter = $("statusFilter").value;
  if (statusFilter && statusFilter !== j.status) { scheduleList(); return; }
  const next = jobRow(j); row.replaceWith(next); searchJobs();
}
let listTimer = null;
function scheduleList() { if (!listTimer) listTimer = setTimeout(() => { listTimer = null; loadJobs().catch(() => {}); loadStats().catch(() => {}); }, 300); }

function renderJob(j) {
  view.data = j;
  const p = (j.metadata && j.metadata.progress) || {};
  const c = jobCounts(j);
  $("jobTitle").textContent = j.job_id;
  $("jobStatus").replaceChildren(badge(j.status));
  $("jobBar").replaceChildren(progressBar(c, true));
  const cards = [["priority", j.priority ?? 0], ["progress", (j.progress ?? 0).toFixed(1) + " %"], ["processed", (p.processed ?? c.ok + c.bad) + " / " + c.total],
    ["succeeded", c.ok], ["failed", c.bad], ["retrying", p.retrying ?? 0], ["cancelled / skipped", c.off], ["items/s", p.items_per_second ?? ""],
    ["ETA", fmtEta(p.estimated_remaining_seconds)], ["elapsed", p.elapsed_seconds != null ? p.elapsed_seconds.toFixed(1) + " s" : ""],
    ["current", p.current_item ?? ""]];
  $("jobCards").replaceChildren(...cards.map(([k, v]) => el("div", { class: "card card-" + cssWord(k) }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v }))));
  const usage = j.result && j.result.summary && j.result.summary.usage;
  const table = usage ? usageTable(usage) : null;
  $("jobUsage").replaceChildren(...(table ? [el("strong", { text: "Tokens per model" }), table] : []));
  $("jobError").textContent = j.error || "";
  workflowLink(j);
  const live = !CONFIG.finalJobStatuses.includes(j.status);
  $("cancelButton").disabled = !live;
  // Failed items, and the items a cancel left unrun (the server's default for a retry).
  $("retryButton").disabled = live || !(c.bad > 0 || (CONFIG.rerunStatuses.includes(j.status) && c.off > 0));
  $("jsonlLink").onclick = async (e) => { e.preventDefault(); const text = await api("/batch/jobs/" + encodeURIComponent(j.job_id) + "/results.jsonl"); const blob = new Blob([text], { type: "application/x-ndjson" }); const a = el("a", { href: URL.createObjectURL(blob), download: j.job_id + "-results.jsonl" }); a.click(); };
}

async function retry(body) {
  try { const j = await postJson("/batch/jobs/" + encodeURIComponent(view.job) + "/retry", body); location.hash = "#/jobs/" + j.job_id; }
  catch (e) { $("jobError").textContent = e.message; }
}

function statusCell(i) {
  const r = i.result || {};
  const cell = el("td", {}, badge(r.status || i.status));
  if (r.failure) cell.append(el("span", { class: "badge reason", title: "why it failed", text: r.failure }));
  // Answered from the result cache: the job whose run it replays.
  if (r.cached === true) cell.append(el("span", { class: "badge cached", title: "answered from the result of job " + r.cached_from, text: "cached" }));
  const ended = view.data && CONFIG.finalJobStatuses.includes(view.data.status);
  if (ended && CONFIG.rerunStatuses.includes(i.status))
    cell.append(el("div", {}, el("button", { class: "small rerun", type: "button", title: "Run this item again, as a new job", text: "Re-run", onclick: (e) => { e.stopPropagation(); retry({ items: [i.id] }); } })));
  return cell;
}

function itemRow(i) {
  const what = i.item.description || i.item.path || i.item.command || i.item.type || "";
  const search = JSON.stringify([i.id, i.status, i.item, i.result, i.error]).toLowerCase();
  return el("tr", { "data-item": i.id, "data-search": search },
    el("td", { class: "num muted", text: i.seq }),
    el("td", {}, el("code", { text: i.id }), el("div", { class: "muted", text: what })),
    statusCell(i), outcomeCell(i));
}

async function loadItems() {
  const limit = searching ? SEARCH_LIMIT : PAGE;
  const q = new URLSearchParams({ limit: String(limit), offset: String(view.itemOffset), failed_first: "true" });
  if ($("itemFilter").value) q.set("status", $("itemFilter").value);
  const { items, total } = await api("/batch/jobs/" + encodeURIComponent(view.job) + "/items?" + q);
  // A live refresh keeps what the person opened (a transcript, a diff) open.
  const opened = new Set([...$("itemRows").querySelectorAll("tr[data-item]")].flatMap((row) =>
    [...row.querySelectorAll("details")].flatMap((d, n) => (d.open ? [JSON.stringify([row.dataset.item, n])] : []))));
  $("itemRows").replaceChildren(...items.map(itemRow));
  for (const row of $("itemRows").querySelectorAll("tr[data-item]"))
    row.querySelectorAll("details").forEach((d, n) => { if (opened.has(JSON.stringify([row.dataset.item, n]))) d.open = true; });
  $("pageInfo").textContent = !total ? "no items" : searching ? "searched " + Math.min(total, limit) + " of " + total
    : (view.itemOffset + 1) + "–" + Math.min(total, view.itemOffset + PAGE) + " of " + total;
  $("prevPage").disabled = searching || view.itemOffset === 0; $("nextPage").disabled = searching || view.itemOffset + PAGE >= total;
  searchItems();
}
$("prevPage").onclick = () => { view.itemOffset = Math.max(0, view.itemOffset - PAGE); loadItems(); };
$("nextPage").onclick = () => { view.itemOffset += PAGE; loadItems(); };
$("itemFilter").onchange = () => { view.itemOffset = 0; loadItems(); };
$("statusFilter").onchange = () => loadJobs(); $("typeFilter").onchange = () => loadJobs();

$("cancelButton").onclick = async () => {
  if (!confirm("Cancel " + view.job + "?")) return;
  try { await api("/batch/jobs/" + encodeURIComponent(view.job), { method: "DELETE" }); } catch (e) { $("jobError").textContent = e.message; }
  refreshJob();
};
$("retryButton").onclick = () => retry({});

let itemsTimer = null;
async function refreshJob() { if (!view.job) return; renderJob(await api("/batch/jobs/" + encodeURIComponent(view.job) + "?include_results=false")); }
function scheduleItems() { if (!itemsTimer) itemsTimer = setTimeout(() => { itemsTimer = null; loadItems().catch(() => {}); }, 500); }

function onEvent(name, data) {
  if (name !== "item") workflowEvent(data);
  if (view.workflow) return;
  if (name === "item") { if (view.job === data.job_id) scheduleItems(); return; }
  if (!data || !data.job_id) return;
  if (view.job === data.job_id) { renderJob(data); if (name !== "progress") scheduleItems(); }
  else if (!view.job) updateJobRow(data);
  if (name !== "progress") scheduleList();
}

async function startStream() {
  if (stream) stream.abort();
  const ctrl = new AbortController(); stream = ctrl;
  try {
    const headers = key ? { authorization: "Bearer " + key } : {};
    const res = await fetch("/batch/events", { headers, signal: ctrl.signal });
    if (res.status === 401) { askKey(); return; }
    $("live").textContent = "live"; $("live").classList.add("on");
    const reader = res.body.getReader(); const dec = new TextDecoder(); let buf = "";
    for (;;) {
      const { value, done } = await reader.read(); if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i); buf = buf.slice(i + 2);
        let ev = "message", data = "";
        for (const line of block.split("\n")) { if (line.startsWith("event: ")) ev = line.slice(7); else if (line.startsWith("data: ")) data += line.slice(6); }
        if (data) { try { onEvent(ev, JSON.parse(data)); } catch (e) { console.error(e); } }
      }
    }
  } catch (e) { if (ctrl.signal.aborted) return; }
  $("live").textContent = "reconnecting…"; $("live").classList.remove("on");
  if (stream === ctrl) setTimeout(startStream, 2000);
}

async function route() {
  const m = /^#\/jobs\/(.+)$/.exec(location.hash);
  const w = /^#\/workflows\/(.+)$/.exec(location.hash);
  view.job = m ? decodeURIComponent(m[1]) : null; view.itemOffset = 0; view.data = null;
  view.workflow = w ? decodeURIComponent(w[1]) : null; workflowData = null;
  $("listView").classList.toggle("hidden", !!view.job || !!view.workflow); $("jobView").classList.toggle("hidden", !view.job);
  $("workflowView").classList.toggle("hidden", !view.workflow);
  try {
    await loadStats();
    if (view.workflow) await refreshWorkflow();
    else if (view.job) { await refreshJob(); await loadItems(); } else { await loadJobs(); await loadWorkflows(); }
  } catch (e) { if (e.message !== "unauthorized") console.error(e); }
}
window.addEventListener("hashchange", route);
setupSubmitForm();
setupWorkflowView();
route(); startStream();
`;

/** The whole script: the server's config read from the page's data block, the renderers, the form, the app. */
export const DASHBOARD_JS = [
  '"use strict";',
  "(() => {",
  'const CONFIG = JSON.parse(document.getElementById("oc-config").textContent);',
  RENDERERS_JS,
  SUBMIT_FORM_JS,
  WORKFLOW_VIEW_JS,
  APP_JS,
  "})();",
].join("\n");
