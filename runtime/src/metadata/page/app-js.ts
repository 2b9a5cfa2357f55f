/**
 * The inventory page's script: plain ES2020, no framework, no build step. It reads the public
 * API only, and writes data with `textContent` (never innerHTML), so a model name cannot inject
 * markup. Served at `/assets/app.js`.
 */
export const APP_JS = `"use strict";
(function () {
  var tbody = document.querySelector("#models tbody");
  var search = document.getElementById("search");
  var license = document.getElementById("license");
  var status = document.getElementById("status");
  var more = document.getElementById("more");
  var summary = document.getElementById("summary");
  var next = null;
  var generation = 0;

  function human(n, units, base) {
    if (typeof n !== "number") return "";
    var i = 0;
    while (n >= base && i < units.length - 1) { n /= base; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + units[i];
  }
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
    return td;
  }
  function render(items) {
    items.forEach(function (m) {
      var tr = document.createElement("tr");
      tr.dataset.id = m.id;
      cell(tr, m.name).className = "name";
      cell(tr, m.family);
      cell(tr, human(m.parameters, ["", "K", "M", "B", "T"], 1000));
      cell(tr, human(m.sizeBytes, [" B", " KiB", " MiB", " GiB", " TiB"], 1024));
      cell(tr, m.license).className = "license";
      var src = cell(tr, "");
      if (m.sourceUrl && /^https?:\\/\\//.test(m.sourceUrl)) {
        var a = document.createElement("a");
        a.href = m.sourceUrl;
        a.rel = "noopener noreferrer nofollow";
        a.textContent = new URL(m.sourceUrl).hostname;
        src.appendChild(a);
      }
      var sha = cell(tr, m.sha256 ? m.sha256.slice(0, 12) : "");
      if (m.sha256) sha.title = m.sha256;
      tbody.appendChild(tr);
    });
  }
  function query(cursor) {
    var p = new URLSearchParams({ limit: "50", sort: "name" });
    if (search.value.trim()) p.set("q", search.value.trim());
    if (license.value) p.set("license", license.value);
    if (cursor) p.set("cursor", cursor);
    return "/api/models?" + p.toString();
  }
  function load(append) {
    var mine = ++generation;
    if (!append) { tbody.textContent = ""; next = null; }
    status.textContent = "Loading…";
    fetch(query(append ? next : null)).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (page) {
      if (mine !== generation) return;
      render(page.items);
      next = page.nextCursor;
      more.hidden = !next;
      var shown = tbody.children.length;
      status.textContent = shown === 0 ? "No models match." : shown + (next ? "+" : "") + " models shown.";
    }).catch(function (e) {
      if (mine === generation) status.textContent = "Could not load models: " + e.message;
    });
  }
  fetch("/api/licenses").then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
    list.forEach(function (l) {
      var o = document.createElement("option");
      o.value = l.id;
      o.textContent = l.name + " (" + l.models.length + ")";
      license.appendChild(o);
    });
  });
  fetch("/api/inventory").then(function (r) { return r.ok ? r.json() : null; }).then(function (inv) {
    if (inv) summary.textContent = inv.models + " models, " + human(inv.totalSizeBytes, [" B", " KiB", " MiB", " GiB", " TiB"], 1024) + " in total.";
  });
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load(false); }, 200);
  });
  license.addEventListener("change", function () { load(false); });
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); load(false); });
  more.addEventListener("click", function () { load(true); });
  load(false);
})();
`;

/** The page's stylesheet, served at `/assets/app.css`. */
export const APP_CSS = `body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#222}
h1{font-size:1.4rem;margin:.2rem 0}
form{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
input,select{font:inherit;padding:.3rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
td:nth-child(3),td:nth-child(4){text-align:right;white-space:nowrap}
footer{margin-top:2rem;color:#666}
`;
