/**
 * The dashboard: one self-contained page (no build step), talking to the REST API and the event stream with
 * fetch, so that it works with API keys on (the key is asked once and kept in sessionStorage).
 */
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ollama-coder</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#26303b; --text:#d7dde4; --muted:#8795a3; --accent:#4aa3ff;
          --ok:#3fb950; --bad:#f85149; --warn:#d29922; --run:#4aa3ff; --off:#8b949e; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); background:var(--panel); position:sticky; top:0; }
  header h1 { font-size:16px; margin:0; font-weight:600; }
  header h1 a { color:var(--text); text-decoration:none; }
  .chips { display:flex; gap:8px; flex-wrap:wrap; }
  .chip { padding:2px 10px; border-radius:999px; border:1px solid var(--line); color:var(--muted); font-size:12px; }
  .chip b { color:var(--text); }
  .live { margin-left:auto; font-size:12px; color:var(--muted); }
  .live.on::before { content:"●"; color:var(--ok); margin-right:6px; }
  main { padding:16px 20px; max-width:1400px; margin:0 auto; }
  .toolbar { display:flex; gap:10px; align-items:center; margin-bottom:12px; }
  select, input, button { background:var(--panel); color:var(--text); border:1px solid var(--line); border-radius:6px; padding:6px 10px; font:inherit; }
  button { cursor:pointer; } button:hover { border-color:var(--accent); }
  button.danger:hover { border-color:var(--bad); color:var(--bad); }
  button:disabled { opacity:.4; cursor:default; }
  table { width:100%; border-collapse:collapse; background:var(--panel); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
  th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); vertical-align:middle; overflow-wrap:anywhere; }
  th { color:var(--muted); font-weight:500; font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  tr:last-child td { border-bottom:none; }
  tbody tr.clickable:hover { background:#1c242d; cursor:pointer; }
  a { color:var(--accent); }
  code, pre { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12px; }
  pre { white-space:pre-wrap; word-break:break-word; background:#0b0f13; border:1px solid var(--line); border-radius:6px; padding:10px; max-height:320px; overflow:auto; margin:6px 0 0; }
  .badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; }
  .s-queued { background:#30363d; color:#c9d1d9; } .s-running { background:#0d2d4d; color:var(--run); }
  .s-completed,.s-succeeded,.s-success,.s-passed { background:#0f2e1a; color:var(--ok); }
  .s-failed,.s-error { background:#3a1417; color:var(--bad); } .s-cancelled,.s-skipped { background:#2d2a1a; color:var(--warn); }
  .bar { height:8px; background:#0b0f13; border:1px solid var(--line); border-radius:4px; overflow:hidden; min-width:120px; }
  .bar > div { height:100%; background:var(--run); transition:width .3s; }
  .bar.completed > div { background:var(--ok); } .bar.failed > div { background:var(--bad); } .bar.cancelled > div { background:var(--warn); }
  .muted { color:var(--muted); } .num { font-variant-numeric:tabular-nums; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:10px; margin:12px 0; }
  .card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
  .card .k { color:var(--muted); font-size:12px; } .card .v { font-size:18px; font-weight:600; }
  .pager { display:flex; gap:8px; align-items:center; margin:10px 0; }
  .modal { position:fixed; inset:0; background:rgba(0,0,0,.6); display:flex; align-items:center; justify-content:center; }
  .modal > div { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:20px; width:380px; }
  .hidden { display:none !important; }
  .error { color:var(--bad); margin:8px 0; }
</style>
</head>
<body>
<header>
  <h1><a href="#/">ollama-coder</a></h1>
  <div class="chips" id="stats"></div>
  <span class="live" id="live">connecting…</span>
  <button id="keyButton" title="API key">API key</button>
</header>
<main>
  <section id="listView">
    <div class="toolbar">
      <select id="statusFilter" aria-label="status"><option value="">all statuses</option>
        <option>queued</option><option>running</option><option>completed</option><option>failed</option><option>cancelled</option></select>
      <select id="typeFilter" aria-label="type"><option value="">all types</option>
        <option>batch_agent_tasks</option><option>batch_validation</option><option>batch_tests</option><option>batch_mcp</option></select>
      <span class="muted" id="listTotal"></span>
    </div>
    <table><thead><tr><th>job</th><th>type</th><th>status</th><th>progress</th><th>items</th><th>items/s</th><th>ETA</th><th>created</th></tr></thead>
      <tbody id="jobRows"></tbody></table>
  </section>
  <section id="jobView" class="hidden">
    <div class="toolbar">
      <a href="#/">← all jobs</a>
      <h2 id="jobTitle" style="margin:0;font-size:16px"></h2>
      <span id="jobStatus"></span>
      <span style="margin-left:auto"></span>
      <button id="retryButton">Retry failed items</button>
      <button id="cancelButton" class="danger">Cancel job</button>
    </div>
    <div class="bar" id="jobBar"><div style="width:0"></div></div>
    <div class="cards" id="jobCards"></div>
    <div class="error" id="jobError"></div>
    <div class="toolbar">
      <strong>Items</strong><span class="muted">(failed first)</span>
      <select id="itemFilter" aria-label="item status"><option value="">all</option><option>failed</option><option>succeeded</option>
        <option>running</option><option>queued</option><option>cancelled</option><option>skipped</option></select>
      <a id="jsonlLink" href="#" style="margin-left:auto">results.jsonl</a>
    </div>
    <table><thead><tr><th>#</th><th>item</th><th>status</th><th>outcome</th></tr></thead><tbody id="itemRows"></tbody></table>
    <div class="pager"><button id="prevPage">‹ prev</button><span class="muted" id="pageInfo"></span><button id="nextPage">next ›</button></div>
  </section>
</main>
<div class="modal hidden" id="keyModal"><div>
  <h3 style="margin-top:0">API key</h3>
  <p class="muted">This server needs a key. It is kept in this tab only (sessionStorage).</p>
  <input id="keyInput" type="password" aria-label="API key" style="width:100%">
  <div class="toolbar" style="margin-top:12px;justify-content:flex-end"><button id="keySave">Use key</button></div>
</div></div>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  let key = sessionStorage.getItem("ollama-coder-key") || "";
  let view = { job: null, itemOffset: 0 };
  let jobs = new Map();
  let stream = null;

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  const badge = (s) => el("span", { class: "badge s-" + s, text: s });
  const bar = (pct, status) => { const b = el("div", { class: "bar " + status }); b.append(el("div", { style: "width:" + Math.max(0, Math.min(100, pct)) + "%" })); return b; };
  const fmtTime = (t) => t ? new Date(t * 1000).toLocaleString() : "";
  const fmtEta = (s) => s == null ? "" : s === 0 ? "—" : s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";

  async function api(path, init = {}) {
    const headers = Object.assign({}, init.headers || {});
    if (key) headers["authorization"] = "Bearer " + key;
    const res = await fetch(path, Object.assign({}, init, { headers }));
    if (res.status === 401) { askKey(); throw new Error("unauthorized"); }
    const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
    if (!res.ok) throw new Error(typeof body === "object" && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText);
    return body;
  }

  function askKey() { $("keyModal").classList.remove("hidden"); $("keyInput").focus(); }
  $("keyButton").onclick = askKey;
  $("keySave").onclick = () => {
    key = $("keyInput").value.trim(); sessionStorage.setItem("ollama-coder-key", key);
    $("keyModal").classList.add("hidden"); startStream(); route();
  };
  $("keyInput").addEventListener("keydown", (e) => { if (e.key === "Enter") $("keySave").click(); });

  async function loadStats() {
    const { stats } = await api("/batch/stats");
    const box = $("stats"); box.replaceChildren();
    for (const k of ["total", "queued", "running", "completed", "failed", "cancelled"]) box.append(el("span", { class: "chip" }, k + " ", el("b", { text: stats[k] })));
  }

  function jobRow(j) {
    const p = (j.metadata && j.metadata.progress) || {};
    const total = p.total ?? Object.entries(j.metadata || {}).find(([k]) => k.startsWith("total_"))?.[1] ?? "";
    const tr = el("tr", { class: "clickable", "data-job": j.job_id, onclick: () => { location.hash = "#/jobs/" + j.job_id; } },
      el("td", {}, el("code", { text: j.job_id })), el("td", { text: j.type || j.job_id.replace(/-[0-9a-f]{12}$/, "") }),
      el("td", {}, badge(j.status)), el("td", {}, bar(j.progress, j.status)),
      el("td", { class: "num", text: (p.processed ?? 0) + " / " + total }),
      el("td", { class: "num", text: p.items_per_second ?? "" }), el("td", { class: "num", text: fmtEta(p.estimated_remaining_seconds) }),
      el("td", { class: "muted", text: fmtTime(j.created_at) }));
    return tr;
  }

  async function loadJobs() {
    const q = new URLSearchParams({ limit: "100" });
    if ($("statusFilter").value) q.set("status", $("statusFilter").value);
    if ($("typeFilter").value) q.set("job_type", $("typeFilter").value);
    const { jobs: list, total } = await api("/batch/jobs?" + q);
    jobs = new Map(list.map((j) => [j.job_id, j]));
    $("jobRows").replaceChildren(...list.map(jobRow));
    if (list.length === 0) $("jobRows").append(el("tr", {}, el("td", { colspan: "8", class: "muted", text: "No jobs yet. Submit one with POST /batch/agent-tasks or \`ollama-coder submit\`." })));
    $("listTotal").textContent = total + " job(s)";
  }

  function updateJobRow(j) {
    const row = document.querySelector('tr[data-job="' + j.job_id + '"]');
    if (!row) { if (!view.job) scheduleList(); return; }
    const statusFilter = $("statusFilter").value;
    if (statusFilter && statusFilter !== j.status) { scheduleList(); return; }
    row.replaceWith(jobRow(j));
  }
  let listTimer = null;
  function scheduleList() { if (!listTimer) listTimer = setTimeout(() => { listTimer = null; loadJobs().catch(() => {}); loadStats().catch(() => {}); }, 300); }

  function renderJob(j) {
    view.data = j;
    const p = (j.metadata && j.metadata.progress) || {};
    $("jobTitle").textContent = j.job_id;
    $("jobStatus").replaceChildren(badge(j.status));
    $("jobBar").className = "bar " + j.status; $("jobBar").firstChild.style.width = j.progress + "%";
    const cards = [["progress", j.progress.toFixed(1) + " %"], ["processed", (p.processed ?? 0) + " / " + (p.total ?? "")],
      ["successful", p.successful ?? 0], ["failed", p.failed ?? 0], ["items/s", p.items_per_second ?? ""],
      ["ETA", fmtEta(p.estimated_remaining_seconds)], ["elapsed", p.elapsed_seconds != null ? p.elapsed_seconds.toFixed(1) + " s" : ""],
      ["current", p.current_item ?? ""]];
    $("jobCards").replaceChildren(...cards.map(([k, v]) => el("div", { class: "card" }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v }))));
    $("jobError").textContent = j.error || "";
    const live = j.status === "queued" || j.status === "running";
    $("cancelButton").disabled = !live;
    $("retryButton").disabled = live || !((p.failed ?? 0) > 0);
    $("jsonlLink").onclick = async (e) => { e.preventDefault(); const text = await api("/batch/jobs/" + j.job_id + "/results.jsonl"); const blob = new Blob([text], { type: "application/x-ndjson" }); const a = el("a", { href: URL.createObjectURL(blob), download: j.job_id + "-results.jsonl" }); a.click(); };
  }

  function outcomeCell(item) {
    const r = item.result || {};
    const summary = r.error || item.error || (r.exit_code != null ? "exit " + r.exit_code : "") || (r.files_changed ? "files: " + r.files_changed.join(", ") : "") || "";
    const details = el("details", {}, el("summary", { text: summary || "details" }));
    const show = Object.assign({}, r); delete show.status; delete show.diff;
    details.append(el("pre", { text: JSON.stringify(show, null, 2) }));
    const cell = el("td", {}, Object.keys(show).length ? details : el("span", { class: "muted", text: summary }));
    // A task in a workspace of its own: its branch (where its changes are, merged or not) and its diff.
    if (r.branch) cell.append(el("div", { class: "muted" }, "branch ", el("code", { class: "branch", text: r.branch }), r.apply && r.apply.status ? " · " + r.apply.status : ""));
    if (r.diff) cell.append(el("details", { class: "diff" }, el("summary", { text: "diff" }), el("pre", { text: r.diff })));
    return cell;
  }

  async function loadItems() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(view.itemOffset), failed_first: "true" });
    if ($("itemFilter").value) q.set("status", $("itemFilter").value);
    const { items, total } = await api("/batch/jobs/" + view.job + "/items?" + q);
    $("itemRows").replaceChildren(...items.map((i) => el("tr", { "data-item": i.id },
      el("td", { class: "num muted", text: i.seq }),
      el("td", {}, el("code", { text: i.id }), el("div", { class: "muted", text: i.item.description || i.item.path || i.item.command || i.item.type || "" })),
      el("td", {}, badge(i.result && i.result.status ? i.result.status : i.status)), outcomeCell(i))));
    $("pageInfo").textContent = total ? (view.itemOffset + 1) + "–" + Math.min(total, view.itemOffset + PAGE) + " of " + total : "no items";
    $("prevPage").disabled = view.itemOffset === 0; $("nextPage").disabled = view.itemOffset + PAGE >= total;
  }
  $("prevPage").onclick = () => { view.itemOffset = Math.max(0, view.itemOffset - PAGE); loadItems(); };
  $("nextPage").onclick = () => { view.itemOffset += PAGE; loadItems(); };
  $("itemFilter").onchange = () => { view.itemOffset = 0; loadItems(); };
  $("statusFilter").onchange = () => loadJobs(); $("typeFilter").onchange = () => loadJobs();

  $("cancelButton").onclick = async () => {
    if (!confirm("Cancel " + view.job + "?")) return;
    try { await api("/batch/jobs/" + view.job, { method: "DELETE" }); } catch (e) { $("jobError").textContent = e.message; }
    refreshJob();
  };
  $("retryButton").onclick = async () => {
    try { const j = await api("/batch/jobs/" + view.job + "/retry", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }); location.hash = "#/jobs/" + j.job_id; }
    catch (e) { $("jobError").textContent = e.message; }
  };

  let itemsTimer = null;
  async function refreshJob() { if (!view.job) return; renderJob(await api("/batch/jobs/" + view.job + "?include_results=false")); }
  function scheduleItems() { if (!itemsTimer) itemsTimer = setTimeout(() => { itemsTimer = null; loadItems().catch(() => {}); }, 500); }

  function onEvent(name, data) {
    if (name === "item") { if (view.job === data.job_id) scheduleItems(); return; }
    if (!data || !data.job_id) return;
    jobs.set(data.job_id, data);
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
        while ((i = buf.indexOf("\\n\\n")) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          let ev = "message", data = "";
          for (const line of block.split("\\n")) { if (line.startsWith("event: ")) ev = line.slice(7); else if (line.startsWith("data: ")) data += line.slice(6); }
          if (data) { try { onEvent(ev, JSON.parse(data)); } catch (e) { console.error(e); } }
        }
      }
    } catch (e) { if (ctrl.signal.aborted) return; }
    $("live").textContent = "reconnecting…"; $("live").classList.remove("on");
    if (stream === ctrl) setTimeout(startStream, 2000);
  }

  async function route() {
    const m = /^#\\/jobs\\/(.+)$/.exec(location.hash);
    view.job = m ? decodeURIComponent(m[1]) : null; view.itemOffset = 0;
    $("listView").classList.toggle("hidden", !!view.job); $("jobView").classList.toggle("hidden", !view.job);
    try {
      await loadStats();
      if (view.job) { await refreshJob(); await loadItems(); } else await loadJobs();
    } catch (e) { if (e.message !== "unauthorized") console.error(e); }
  }
  window.addEventListener("hashchange", route);
  route(); startStream();
})();
</script>
</body>
</html>
`;
