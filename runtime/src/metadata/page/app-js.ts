/**
 * The inventory page's script: plain ES2020, no framework, no build step. It enhances the
 * server-rendered page (see index-html.ts): search as you type, the licence filter and "More"
 * fetch the same page for the new query and import its rows, parsed by DOMParser (inert: no
 * script runs) rather than assigned through innerHTML. Served at `/assets/app.js`.
 */
export const APP_JS = `"use strict";
(function () {
  var form = document.getElementById("filters");
  var search = document.getElementById("search");
  var license = document.getElementById("license");
  var table = document.getElementById("models");
  var status = document.getElementById("status");
  var more = document.getElementById("more");
  var generation = 0;

  function formUrl() {
    var p = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v) p.set(k, String(v)); });
    var s = p.toString();
    return s ? "/?" + s : "/";
  }
  // Fetches the server-rendered page for url and takes its rows, header and next link: the
  // server is the only renderer, so a row looks the same with and without this script.
  function load(url, append) {
    var mine = ++generation;
    status.textContent = "Loading…";
    fetch(url, { headers: { accept: "text/html" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      if (mine !== generation) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var tbody = table.tBodies[0];
      if (!append) tbody.textContent = "";
      doc.querySelectorAll("#models tbody tr").forEach(function (tr) { tbody.appendChild(document.importNode(tr, true)); });
      table.tHead.replaceWith(document.importNode(doc.querySelector("#models thead"), true));
      var next = doc.getElementById("more");
      more.hidden = next.hidden;
      more.setAttribute("href", next.getAttribute("href"));
      var shown = tbody.rows.length;
      status.textContent = shown === 0 ? "No models match." : shown + (next.hidden ? "" : "+") + " models shown.";
      if (!append) history.replaceState(null, "", url);
    }).catch(function (e) {
      if (mine === generation) status.textContent = "Could not load models: " + e.message;
    });
  }
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load(formUrl(), false); }, 200);
  });
  license.addEventListener("change", function () { load(formUrl(), false); });
  form.addEventListener("submit", function (e) { e.preventDefault(); load(formUrl(), false); });
  more.addEventListener("click", function (e) { e.preventDefault(); load(more.getAttribute("href"), true); });
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
th a{color:inherit}
[hidden]{display:none}
footer{margin-top:2rem;color:#666}
`;
