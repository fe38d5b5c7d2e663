/** The dashboard's stylesheet (inlined in the page: `style-src 'unsafe-inline'`; no script is inline). */
export const DASHBOARD_CSS = /* css */ `
  :root { --bg:#0f1419; --panel:#171d24; --line:#26303b; --text:#d7dde4; --muted:#8795a3; --accent:#4aa3ff;
          --ok:#3fb950; --bad:#f85149; --warn:#d29922; --run:#4aa3ff; --off:#8b949e; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); background:var(--panel); position:sticky; top:0; z-index:2; }
  header h1 { font-size:16px; margin:0; font-weight:600; display:flex; align-items:center; gap:8px; }
  header h1 img { width:20px; height:20px; }
  header h1 a { color:var(--text); text-decoration:none; }
  .chips { display:flex; gap:8px; flex-wrap:wrap; }
  .chip { padding:2px 10px; border-radius:999px; border:1px solid var(--line); color:var(--muted); font-size:12px; }
  .chip b { color:var(--text); }
  .live { margin-left:auto; font-size:12px; color:var(--muted); }
  .live.on::before { content:"●"; color:var(--ok); margin-right:6px; }
  main { padding:16px 20px; max-width:1400px; margin:0 auto; }
  .toolbar { display:flex; gap:10px; align-items:center; margin-bottom:12px; flex-wrap:wrap; }
  select, input, button, textarea { background:var(--panel); color:var(--text); border:1px solid var(--line); border-radius:6px; padding:6px 10px; font:inherit; }
  input[type=search] { min-width:260px; }
  button { cursor:pointer; } button:hover { border-color:var(--accent); }
  button.primary { border-color:var(--accent); color:var(--accent); }
  button.danger:hover { border-color:var(--bad); color:var(--bad); }
  button.small { padding:2px 8px; font-size:12px; }
  button:disabled { opacity:.4; cursor:default; }
  table { width:100%; border-collapse:collapse; background:var(--panel); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
  th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); vertical-align:top; overflow-wrap:anywhere; }
  th { color:var(--muted); font-weight:500; font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  tr:last-child td { border-bottom:none; }
  tbody tr.clickable:hover { background:#1c242d; cursor:pointer; }
  a { color:var(--accent); }
  code, pre, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12px; }
  pre { white-space:pre; background:#0b0f13; border:1px solid var(--line); border-radius:6px; padding:8px 10px; max-height:360px; overflow:auto; margin:4px 0 0; tab-size:4; }
  pre.wrap { white-space:pre-wrap; word-break:break-word; }
  .out { margin:6px 0; } .out > .label { color:var(--muted); font-size:12px; display:flex; gap:8px; align-items:center; }
  .diff .add { color:var(--ok); background:#0f2e1a; display:block; } .diff .del { color:var(--bad); background:#3a1417; display:block; }
  .diff .hunk { color:var(--accent); display:block; } .diff .meta { color:var(--muted); font-weight:600; display:block; } .diff .ctx { display:block; }
  .badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; }
  .b-queued { background:#30363d; color:#c9d1d9; } .b-running { background:#0d2d4d; color:var(--run); }
  .b-ok { background:#0f2e1a; color:var(--ok); } .b-bad { background:#3a1417; color:var(--bad); } .b-off { background:#2d2a1a; color:var(--warn); }
  .reason { margin-left:6px; border:1px solid var(--bad); color:var(--bad); background:none; }
  .cached { margin-left:6px; border:1px solid var(--accent); color:var(--accent); background:none; }
  .errtext { color:var(--bad); margin:4px 0; white-space:pre-wrap; }
  .bar { display:flex; height:10px; background:#0b0f13; border:1px solid var(--line); border-radius:4px; overflow:hidden; min-width:140px; }
  .bar > span { height:100%; transition:width .3s; }
  .bar .seg-ok { background:var(--ok); } .bar .seg-bad { background:var(--bad); } .bar .seg-off { background:var(--warn); } .bar .seg-run { background:var(--run); opacity:.35; }
  .bartext { font-size:11px; color:var(--muted); margin-top:2px; }
  .bartext .n-bad { color:var(--bad); }
  .muted { color:var(--muted); } .num { font-variant-numeric:tabular-nums; } .failed-count { color:var(--bad); font-weight:600; }
  .steps { display:flex; gap:28px; align-items:flex-start; margin:12px 0; overflow-x:auto; }
  .step-col { display:flex; flex-direction:column; gap:10px; min-width:210px; }
  .step { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; display:flex; flex-direction:column; gap:4px; }
  .step-head { display:flex; justify-content:space-between; gap:8px; align-items:center; }
  .workflow-rows { margin:6px 0 12px; padding-left:18px; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:10px; margin:12px 0; }
  .card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
  .card .k { color:var(--muted); font-size:12px; } .card .v { font-size:18px; font-weight:600; }
  .kv { display:grid; grid-template-columns:max-content 1fr; gap:2px 12px; font-size:12px; margin:4px 0; }
  .kv dt { color:var(--muted); } .kv dd { margin:0; }
  .part { border-left:2px solid var(--line); padding-left:8px; margin:4px 0; }
  .pager { display:flex; gap:8px; align-items:center; margin:10px 0; }
  .modal { position:fixed; inset:0; background:rgba(0,0,0,.6); display:flex; align-items:center; justify-content:center; z-index:3; }
  .modal > div { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:20px; width:380px; }
  .chat { display:flex; flex-direction:column; gap:6px; margin-top:6px; }
  .msg { border:1px solid var(--line); border-left-width:4px; border-radius:6px; padding:6px 10px; background:#0b0f13; }
  .msg .role { font-size:11px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); }
  .msg.r-system { border-left-color:var(--off); } .msg.r-user { border-left-color:var(--accent); }
  .msg.r-assistant { border-left-color:var(--ok); } .msg.r-tool { border-left-color:var(--warn); } .msg.r-note { border-left-color:var(--line); font-style:italic; }
  .msg .body { white-space:pre-wrap; word-break:break-word; margin:2px 0; }
  .toolcall { margin:4px 0; } .toolcall .name { color:var(--warn); font-weight:600; }
  .usage { margin:8px 0 12px; } .usage table { width:auto; }
  .submit { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin-bottom:14px; }
  .submit summary { cursor:pointer; font-weight:600; }
  .fields { display:grid; grid-template-columns:repeat(auto-fill,minmax(220px,1fr)); gap:8px 12px; margin:8px 0; }
  .fields label { display:flex; flex-direction:column; gap:2px; font-size:12px; color:var(--muted); }
  .fields textarea { min-height:34px; resize:vertical; }
  .itemrow { border:1px dashed var(--line); border-radius:6px; padding:4px 8px; margin:6px 0; }
  .itemrow > button { align-self:end; justify-self:start; }
  .hidden { display:none !important; }
  .error { color:var(--bad); margin:8px 0; }
  .ok-note { color:var(--ok); margin:8px 0; }
`;
