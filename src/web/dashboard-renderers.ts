/**
 * The page's renderers (browser code, served as part of /dashboard.js): badges, the stacked progress bar,
 * command outputs, diffs, agent transcripts and usage tables. Every piece of text goes in through
 * textContent or a text node, never as HTML: item payloads, model output and file names are untrusted.
 */
export const RENDERERS_JS = String.raw`
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else if (typeof v === "function") e.addEventListener(k.slice(2), v); else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** The colour of a status word (the server's words, CONFIG.tones); a word it does not list is a success word. */
const tone = (word) => "b-" + (CONFIG.tones[word] || "ok");
const cssWord = (s) => String(s).toLowerCase().replace(/[^a-z0-9_-]/g, "");
const badge = (word) => el("span", { class: "badge " + tone(word) + " s-" + cssWord(word), text: word });

/** Succeeded / failed / not run (cancelled or skipped) / remaining items of a job. */
function jobCounts(j) {
  const p = (j.metadata && j.metadata.progress) || {};
  const s = (j.result && j.result.summary) || {};
  const declared = Object.entries(j.metadata || {}).find(([k]) => k.startsWith("total_"));
  const total = Number(p.total ?? s.total ?? (declared ? declared[1] : 0)) || 0;
  const ok = Number(p.successful ?? s.successful ?? 0);
  const bad = Number(p.failed ?? s.failed ?? 0);
  let off = Number(p.skipped ?? s.skipped ?? 0) + Number(s.cancelled ?? p.cancelled ?? 0);
  let rest = Math.max(0, total - ok - bad - off);
  // A job that ended with items that never ran: they will not run (cancelled).
  if (CONFIG.finalJobStatuses.includes(j.status) && rest > 0) { off += rest; rest = 0; }
  return { total, ok, bad, off, rest };
}
const countsText = (c) => c.ok + " succeeded, " + c.bad + " failed, " + c.off + " cancelled or skipped, " + c.rest + " remaining of " + c.total;

/** A stacked bar (succeeded, failed, not run, remaining) with the same counts as text for people and screen readers. */
function progressBar(c, withText) {
  const label = countsText(c);
  const b = el("div", { class: "bar", role: "img", "aria-label": label, title: label });
  const pct = (n) => (c.total > 0 ? (100 * n) / c.total : 0) + "%";
  for (const [cls, n, what] of [["seg-ok", c.ok, "succeeded"], ["seg-bad", c.bad, "failed"], ["seg-off", c.off, "cancelled or skipped"], ["seg-run", c.rest, "remaining"]]) {
    const seg = el("span", { class: cls, "data-count": n, title: n + " " + what });
    seg.style.width = pct(n);
    b.append(seg);
  }
  if (!withText) return b;
  return el("div", {}, b, el("div", { class: "bartext" }, c.ok + " ok · ", el("span", { class: c.bad ? "n-bad" : "", text: c.bad + " failed" }), " · " + c.off + " not run · " + c.rest + " left"));
}

const COLLAPSE_LINES = 40, COLLAPSE_CHARS = 6000;

/** Text as it was printed: newlines kept, monospace, scrollable; long text cut with a "show all" button. */
function outputBlock(label, text, extraClass) {
  text = String(text);
  const lines = text.split("\n");
  const long = lines.length > COLLAPSE_LINES || text.length > COLLAPSE_CHARS;
  const short = long ? lines.slice(0, COLLAPSE_LINES).join("\n").slice(0, COLLAPSE_CHARS) : text;
  const pre = el("pre", { class: "output " + (extraClass || ""), text: short });
  const head = el("div", { class: "label" }, el("span", { text: label }));
  if (long) {
    let all = false;
    const more = el("button", { class: "small showall", type: "button", text: "show all (" + lines.length + " lines)" });
    more.addEventListener("click", () => {
      all = !all; pre.textContent = all ? text : short;
      more.textContent = all ? "show less" : "show all (" + lines.length + " lines)";
    });
    head.append(more);
  }
  return el("div", { class: "out out-" + cssWord(label) }, head, pre);
}

/** A unified diff, line by line: added, removed, hunk headers and file headers in their colours. */
function diffBlock(text, label) {
  const pre = el("pre", { class: "diff" });
  for (const line of String(text).replace(/\n$/, "").split("\n")) {
    const cls = line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ") || line.startsWith("index ") ? "meta"
      : line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "ctx";
    pre.append(el("span", { class: cls, text: line + "\n" }));
  }
  return el("details", { class: "diff" }, el("summary", { text: label || "diff" }), pre);
}

/** An agent's transcript as a conversation: each message's role, text, tool calls with their arguments, tool results. */
function transcriptBlock(entries) {
  const chat = el("div", { class: "chat" });
  for (const m of entries) {
    if (!m || typeof m !== "object") continue;
    const role = String(m.role || "message");
    const who = [role, m.tool_name ? "← " + m.tool_name : "", m.model ? "(" + m.model + ")" : ""].filter(Boolean).join(" ");
    const msg = el("div", { class: "msg r-" + cssWord(role) }, el("div", { class: "role", text: who }));
    if (m.content) {
      if (role === "tool") msg.append(outputBlock("result", m.content));
      else {
        const lines = String(m.content).split("\n");
        msg.append(lines.length > COLLAPSE_LINES ? outputBlock("text", m.content, "wrap") : el("div", { class: "body", text: m.content }));
      }
    }
    for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
      const fn = call && (call.function || call);
      const args = fn && fn.arguments;
      msg.append(el("div", { class: "toolcall" }, "→ ", el("span", { class: "name", text: String(fn && fn.name) }),
        el("div", { class: "args" }, args && typeof args === "object" && !Array.isArray(args) ? renderFields(args) : el("pre", { class: "wrap", text: JSON.stringify(args, null, 2) }))));
    }
    chat.append(msg);
  }
  return el("details", { class: "transcript" }, el("summary", { text: "transcript (" + entries.length + " messages)" }), chat);
}

/** Token totals per model: a row a model, a column a figure. */
function usageTable(usage) {
  const models = Object.entries(usage || {}).filter(([, v]) => v && typeof v === "object");
  if (models.length === 0) return null;
  const cols = [...new Set(models.flatMap(([, v]) => Object.keys(v)))];
  return el("table", { class: "usage-table" },
    el("thead", {}, el("tr", {}, el("th", { text: "model" }), ...cols.map((c) => el("th", { text: c.replace(/_/g, " ") })))),
    el("tbody", {}, ...models.map(([m, v]) => el("tr", {}, el("td", {}, el("code", { text: m })), ...cols.map((c) => el("td", { class: "num", text: typeof v[c] === "number" ? (Number.isInteger(v[c]) ? v[c] : v[c].toFixed(2)) : v[c] ?? "" }))))));
}

const OUTPUT_FIELDS = ["stdout", "stderr", "output", "traceback", "content", "review"];

/** The fields of a result (or a part of one): outputs as text, diffs, transcripts, and the rest as a list. */
function renderFields(r, skip) {
  const box = el("div", { class: "fields-view" }), kv = el("dl", { class: "kv" }), later = [];
  for (const [k, v] of Object.entries(r)) {
    if (skip && skip.has(k)) continue;
    if (v == null || v === "") { if (k === "stdout" || k === "stderr") kv.append(el("dt", { text: k }), el("dd", { class: "muted", text: "(empty)" })); continue; }
    if (typeof v === "string" && (k === "diff" || k === "patch" || k.endsWith("_diff"))) later.push(diffBlock(v, k));
    else if (k === "transcript" && Array.isArray(v)) later.push(transcriptBlock(v));
    else if (k === "usage" && typeof v === "object" && !Array.isArray(v)) { const t = usageTable(v); if (t) later.push(el("details", { class: "usage" }, el("summary", { text: "usage" }), t)); }
    else if (typeof v === "string" && (OUTPUT_FIELDS.includes(k) || v.includes("\n"))) later.push(outputBlock(k, v));
    else if (Array.isArray(v) && v.every((x) => x == null || typeof x !== "object")) kv.append(el("dt", { text: k }), el("dd", { text: v.join(", ") || "—" }));
    else if (Array.isArray(v)) later.push(outputBlock(k, JSON.stringify(v, null, 2)));
    else if (typeof v === "object") later.push(el("div", { class: "part part-" + cssWord(k) }, el("div", { class: "label muted", text: k }), renderFields(v)));
    else kv.append(el("dt", { text: k }), el("dd", { class: "mono", text: String(v) }));
  }
  if (kv.childNodes.length) box.append(kv);
  box.append(...later);
  return box;
}

/** An item's outcome: why it failed, its error, then what it produced. */
function outcomeCell(i) {
  const r = i.result || {};
  const cell = el("td", { class: "outcome" });
  const err = r.error || i.error;
  if (err) cell.append(String(err).includes("\n") ? outputBlock("error", err, "wrap") : el("div", { class: "errtext", text: err }));
  // A task in a workspace of its own: its branch (where its changes are, merged or not).
  if (r.branch) cell.append(el("div", { class: "muted" }, "branch ", el("code", { class: "branch", text: r.branch }), r.apply && r.apply.status ? " · " + r.apply.status : ""));
  const submitted = i.item || {};
  const skip = new Set(["id", "status", "failure", "error", "branch"]);
  for (const [k, v] of Object.entries(submitted)) if (JSON.stringify(r[k]) === JSON.stringify(v)) skip.add(k);
  cell.append(renderFields(r, skip));
  return cell;
}
`;
