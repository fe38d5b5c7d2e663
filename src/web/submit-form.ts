/**
 * The submit form (browser code, part of /dashboard.js), built from the kinds the server registers: each
 * kind's options and item fields come from its schemas (CONFIG.kinds), so a new kind, a plugin's included,
 * gets a form without any HTML written for it. An empty input sends nothing: the server's default applies.
 */
export const SUBMIT_FORM_JS = `
function fieldInput(f) {
  let input;
  if (f.input === "choice" || f.input === "boolean") {
    input = el("select");
    const choices = f.input === "boolean" ? ["true", "false"] : f.choices;
    if (!f.required) input.append(el("option", { value: "", text: f.default !== undefined ? "(default: " + f.default + ")" : "(none)" }));
    for (const c of choices) input.append(el("option", { text: c }));
  } else if (f.input === "text" || f.input === "json") {
    input = el("textarea", { rows: f.input === "text" ? 2 : 1, placeholder: f.default !== undefined ? JSON.stringify(f.default) : f.input === "json" ? "JSON" : "" });
  } else {
    input = el("input", { type: f.input === "string" ? "text" : "number", step: f.input === "number" ? "any" : "1",
      placeholder: f.default !== undefined && f.default !== null ? String(f.default) : "" });
  }
  input.name = f.name; input.dataset.input = f.input;
  if (f.required) input.required = true;
  return el("label", { title: f.description || null }, f.name + (f.required ? " *" : ""), input);
}

/** The values of a set of inputs, typed as the schema says; empty inputs are left out. */
function readFields(box) {
  const out = {};
  for (const input of box.querySelectorAll("[data-input]")) {
    const raw = input.value, v = raw.trim();
    if (v === "") continue;
    switch (input.dataset.input) {
      case "integer": case "number": out[input.name] = Number(v); break;
      case "boolean": out[input.name] = v === "true"; break;
      case "json":
        try { out[input.name] = JSON.parse(v); } catch { throw new Error(input.name + ": not valid JSON"); }
        break;
      case "text": out[input.name] = raw; break;
      default: out[input.name] = v;
    }
  }
  return out;
}

function setupSubmitForm() {
  const kinds = CONFIG.kinds;
  const select = $("submitKind");
  for (const k of kinds) select.append(el("option", { value: k.type, text: k.title + " (" + k.type + ")" }));
  const current = () => kinds.find((k) => k.type === select.value);
  function addItem() {
    const k = current(); if (!k) return;
    const row = el("div", { class: "itemrow fields" }, ...k.item.map(fieldInput));
    row.append(el("button", { type: "button", class: "small", title: "remove this item", text: "remove", onclick: () => row.remove() }));
    $("submitItems").append(row);
  }
  function show() {
    const k = current(); if (!k) return;
    $("submitSummary").textContent = k.summary + " — POST " + k.path;
    $("submitItemsTitle").textContent = k.itemsField;
    $("submitOptions").replaceChildren(...k.options.map(fieldInput));
    $("submitItems").replaceChildren(); addItem();
    $("submitError").textContent = "";
  }
  select.addEventListener("change", show);
  $("addItem").addEventListener("click", addItem);
  $("submitForm").addEventListener("submit", async (e) => {
    e.preventDefault();
    const k = current(); if (!k) return;
    $("submitError").textContent = "";
    try {
      const body = readFields($("submitOptions"));
      body[k.itemsField] = [...$("submitItems").querySelectorAll(".itemrow")].map(readFields);
      const job = await postJson(k.path, body);
      location.hash = "#/jobs/" + job.job_id;
    } catch (err) { $("submitError").textContent = err.message; }
  });
  if (kinds.length === 0) $("submitPanel").classList.add("hidden"); else show();
}
`;
