/**
 * The dashboard's workflow view (#/workflows/<id>): the steps drawn in columns by depth (a step stands right of
 * the steps it depends on), each with its status, its items done and a link to its job; the recent workflows
 * listed on the job list; and a job of a workflow linking to it.
 */
export const WORKFLOW_VIEW_JS = `
let workflowData = null;
let workflowTimer = null;

/** Each step's column: 0 for a step that depends on none, else one more than its deepest dependency. */
function stepDepths(steps) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  const of = (s) => {
    if (depth.has(s.id)) return depth.get(s.id);
    depth.set(s.id, 0);
    const d = s.depends_on.length ? 1 + Math.max(...s.depends_on.map((id) => of(byId.get(id) || { id, depends_on: [] }))) : 0;
    depth.set(s.id, d); return d;
  };
  for (const s of steps) of(s);
  return depth;
}

function stepBox(s) {
  const c = { total: s.total, ok: s.done, bad: 0, off: 0, rest: Math.max(0, s.total - s.done) };
  return el("div", { class: "step s-" + cssWord(s.status), "data-step": s.id },
    el("div", { class: "step-head" }, el("strong", { text: s.id }), badge(s.status)),
    el("div", { class: "muted", text: s.type + " · " + s.done + " / " + s.total + " items" }),
    progressBar(c, false),
    s.depends_on.length ? el("div", { class: "muted", text: "after " + s.depends_on.join(", ") }) : el("div", { class: "muted", text: "first" }),
    s.error ? el("div", { class: "error", text: s.error }) : el("span", {}),
    s.status === "purged" ? el("span", { class: "muted", text: s.job_id }) : el("a", { href: "#/jobs/" + encodeURIComponent(s.job_id), class: "step-job", text: s.job_id }));
}

function renderWorkflow(w) {
  workflowData = w;
  // A name is the client's text: isolated, so that a right-to-left mark in it cannot turn the id around.
  $("workflowTitle").replaceChildren(el("bdi", { text: w.name }), " (" + w.workflow_id + ")");
  $("workflowStatus").replaceChildren(badge(w.status));
  const p = w.progress;
  $("workflowProgress").textContent = p.steps_ended + " of " + p.steps_total + " steps ended · " + p.items_done + " of " + p.items_total + " items";
  const depths = stepDepths(w.steps);
  const columns = [];
  for (const s of w.steps) { const d = depths.get(s.id) || 0; (columns[d] = columns[d] || []).push(s); }
  $("workflowSteps").replaceChildren(...columns.map((col, i) => el("div", { class: "step-col", "data-depth": i }, ...(col || []).map(stepBox))));
  $("workflowCancel").disabled = CONFIG.finalJobStatuses.includes(w.status);
}

async function refreshWorkflow() {
  if (!view.workflow) return;
  renderWorkflow(await api("/batch/workflows/" + encodeURIComponent(view.workflow)));
}
function scheduleWorkflow() { if (!workflowTimer) workflowTimer = setTimeout(() => { workflowTimer = null; refreshWorkflow().catch(() => {}); }, 300); }
/** A job event of one of the shown workflow's jobs redraws it. */
function workflowEvent(data) {
  if (view.workflow && workflowData && data && workflowData.steps.some((s) => s.job_id === data.job_id)) scheduleWorkflow();
}

function setupWorkflowView() {
  $("workflowCancel").onclick = async () => {
    if (!confirm("Cancel every step of " + view.workflow + " that has not ended?")) return;
    try { await api("/batch/workflows/" + encodeURIComponent(view.workflow), { method: "DELETE" }); } catch (e) { $("workflowError").textContent = e.message; }
    refreshWorkflow().catch(() => {});
  };
}

async function loadWorkflows() {
  const { workflows, total } = await api("/batch/workflows?limit=10");
  $("workflowList").classList.toggle("hidden", total === 0);
  $("workflowRows").replaceChildren(...workflows.map((w) => el("li", {},
    el("a", { href: "#/workflows/" + encodeURIComponent(w.workflow_id) }, el("bdi", { text: w.name })), " ", badge(w.status),
    el("span", { class: "muted", text: " " + w.progress.steps_ended + "/" + w.progress.steps_total + " steps · " + w.workflow_id }))));
}

/** On a job of a workflow, the link to it. */
function workflowLink(j) {
  const m = j.metadata || {};
  const id = j.workflow_id || m.workflow_id;
  $("jobWorkflow").replaceChildren(...(id ? [el("span", { class: "muted", text: "step " + (m.workflow_step || "?") + " of " }), el("a", { href: "#/workflows/" + encodeURIComponent(id), text: "workflow " + id })] : []));
}
`;
