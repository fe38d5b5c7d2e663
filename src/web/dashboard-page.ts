import { configBlock, type DashboardConfig } from "./dashboard-config.js";
import { DASHBOARD_CSS } from "./dashboard-styles.js";

/** Where the page's script is served (`script-src 'self'`: the page has no inline script). */
export const DASHBOARD_SCRIPT_PATH = "/dashboard.js";
export const FAVICON_PATH = "/favicon.ico";

/**
 * The dashboard: one self-contained page (no build step), talking to the REST API and the event stream with
 * fetch, so that it works with API keys on (the key is asked once and kept in sessionStorage). The server's
 * facts (auth, statuses, the kinds and their forms) come in a JSON data block, which is never executed.
 */
export function dashboardPage(config: DashboardConfig): string {
  return /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ollama-coder</title>
<link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml">
<style>${DASHBOARD_CSS}</style>
<script type="application/json" id="oc-config">${configBlock(config)}</script>
<script src="${DASHBOARD_SCRIPT_PATH}" defer></script>
</head>
<body>
<header>
  <h1><img src="${FAVICON_PATH}" alt=""><a href="#/">ollama-coder</a></h1>
  <div class="chips" id="stats"></div>
  <span class="live" id="live">connecting…</span>
  <button id="keyButton" title="API key"${config.authRequired ? "" : ' class="hidden"'}>API key</button>
</header>
<main>
  <section id="listView">
    <details class="submit" id="submitPanel">
      <summary>Submit a job</summary>
      <form id="submitForm" autocomplete="off">
        <div class="toolbar" style="margin-top:8px">
          <label>kind <select id="submitKind" aria-label="job kind"></select></label>
          <span class="muted" id="submitSummary"></span>
        </div>
        <div class="fields" id="submitOptions"></div>
        <div><strong id="submitItemsTitle">items</strong></div>
        <div id="submitItems"></div>
        <div class="toolbar">
          <button type="button" id="addItem">+ item</button>
          <span style="margin-left:auto"></span>
          <button type="submit" class="primary" id="submitButton">Submit</button>
        </div>
        <div class="error" id="submitError"></div>
      </form>
    </details>
    <div id="workflowList" class="hidden"><strong>Workflows</strong><ul id="workflowRows" class="workflow-rows"></ul></div>
    <div class="toolbar">
      <input type="search" id="jobSearch" placeholder="search jobs: id, type, status" aria-label="search jobs">
      <select id="statusFilter" aria-label="status"><option value="">all statuses</option></select>
      <select id="typeFilter" aria-label="type"><option value="">all types</option></select>
      <span class="muted" id="listTotal"></span>
    </div>
    <table><thead><tr><th>job</th><th>type</th><th>status</th><th title="higher runs first">priority</th><th>progress</th><th>items</th><th>failed</th><th>items/s</th><th>ETA</th><th>created</th></tr></thead>
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
    <div id="jobBar"></div>
    <div class="cards" id="jobCards"></div>
    <div class="usage" id="jobUsage"></div>
    <div id="jobWorkflow"></div>
    <div class="error" id="jobError"></div>
    <div class="toolbar">
      <strong>Items</strong><span class="muted">(failed first)</span>
      <select id="itemFilter" aria-label="item status"><option value="">all</option></select>
      <input type="search" id="itemSearch" placeholder="search items: id, status, text" aria-label="search items">
      <a id="jsonlLink" href="#" style="margin-left:auto">results.jsonl</a>
    </div>
    <table><thead><tr><th>#</th><th>item</th><th>status</th><th>outcome</th></tr></thead><tbody id="itemRows"></tbody></table>
    <div class="pager"><button id="prevPage">‹ prev</button><span class="muted" id="pageInfo"></span><button id="nextPage">next ›</button></div>
  </section>
  <section id="workflowView" class="hidden">
    <div class="toolbar">
      <a href="#/">← all jobs</a>
      <h2 id="workflowTitle" style="margin:0;font-size:16px"></h2>
      <span id="workflowStatus"></span>
      <span style="margin-left:auto"></span>
      <button id="workflowCancel" class="danger">Cancel workflow</button>
    </div>
    <div class="muted" id="workflowProgress"></div>
    <div class="error" id="workflowError"></div>
    <div class="steps" id="workflowSteps"></div>
  </section>
</main>
<div class="modal hidden" id="keyModal"><div>
  <h3 style="margin-top:0">API key</h3>
  <p class="muted">This server needs a key. It is kept in this tab only (sessionStorage).</p>
  <input id="keyInput" type="password" aria-label="API key" style="width:100%">
  <div class="toolbar" style="margin-top:12px;justify-content:flex-end"><button id="keySave">Use key</button></div>
</div></div>
</body>
</html>
`;
}
