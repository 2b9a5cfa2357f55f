/**
 * The inventory page at `/`, rendered on the server: the summary, the licence filter, and the
 * first page of the table for the query in the URL, so the page works without JavaScript and its
 * first paint needs no request beyond the page and its two assets (issue 9, item 27). The script
 * (`app-js.ts`) only enhances it: it fetches this same page for a new query and takes its rows.
 * Every datum is HTML-escaped and stripped of bidirectional controls; no inline script or style,
 * so the page works under a strict CSP.
 */
import type { InventorySummary, LicenseManifestEntry, PublicModel } from "../public-schema.js";
import type { ModelSort } from "../store.js";

/** What the page shows: the query it answers and the data for it. */
export interface PageView {
  readonly query: { readonly q?: string; readonly license?: string; readonly sort: ModelSort; readonly order: "asc" | "desc" };
  readonly models: readonly PublicModel[];
  readonly nextCursor: string | null;
  readonly licenses: readonly LicenseManifestEntry[];
  readonly inventory: InventorySummary;
}

/** The sortable columns, in table order, with the API sort key behind each. */
const COLUMNS: ReadonlyArray<{ readonly title: string; readonly sort?: ModelSort }> = [
  { title: "Name", sort: "name" },
  { title: "Family" },
  { title: "Parameters" },
  { title: "Size", sort: "sizeBytes" },
  { title: "Licence" },
  { title: "Source" },
  { title: "Updated", sort: "updatedAt" },
  { title: "SHA-256" },
];

/**
 * Bidirectional embedding, override and isolate controls (and the implicit marks): a name
 * holding U+202E would display reversed ("gpt\u202Eexe.fdp" shows as "gptpdf.exe"). Each is
 * shown as U+FFFD instead.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** `text` as it may be displayed: bidirectional controls replaced by U+FFFD, then HTML-escaped. */
export function displayText(text: string | undefined): string {
  return escapeHtml((text ?? "").replace(BIDI_CONTROLS, "\uFFFD"));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `n` in `units` of `base` (1 decimal above the first unit); "" for a missing value. */
function human(n: number | undefined, units: readonly string[], base: number): string {
  if (typeof n !== "number") return "";
  let i = 0;
  while (n >= base && i < units.length - 1) {
    n /= base;
    i++;
  }
  return (i === 0 ? String(n) : n.toFixed(1)) + units[i];
}

const BYTES = [" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"];
const COUNT = ["", "K", "M", "B", "T", "Q"];

/** `/?…` for `query` (empty values left out, as the form's would be). */
function pageHref(query: Readonly<Record<string, string | undefined>>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `/?${s}` : "/";
}

/** The status line under the table; the script writes the same sentence as rows are added. */
export function statusText(shown: number, more: boolean): string {
  return shown === 0 ? "No models match." : `${shown}${more ? "+" : ""} models shown.`;
}

/** Renders the whole page for `view`. Pure. */
export function renderIndexHtml(view: PageView): string {
  const { query } = view;
  const names = new Map(view.licenses.map((l) => [l.id, l.name]));
  const head = COLUMNS.map((c) => {
    if (!c.sort) return `<th scope="col">${c.title}</th>`;
    const active = query.sort === c.sort;
    const order = active && query.order === "asc" ? "desc" : "asc";
    const aria = active ? ` aria-sort="${query.order === "asc" ? "ascending" : "descending"}"` : "";
    const arrow = active ? (query.order === "asc" ? " ▲" : " ▼") : "";
    return `<th scope="col"${aria}><a href="${escapeHtml(pageHref({ q: query.q, license: query.license, sort: c.sort, order }))}">${c.title}${arrow}</a></th>`;
  }).join("");
  const rows = view.models.map((m) => {
    const url = m.sourceUrl === undefined ? null : URL.parse(m.sourceUrl);
    // A row whose URL cannot be parsed is drawn without its link: one bad row never stops the page.
    const source = url && (url.protocol === "https:" || url.protocol === "http:") ? `<a href="${escapeHtml(url.href)}" rel="noopener noreferrer nofollow">${displayText(url.hostname)}</a>` : "";
    const licence = m.license === undefined ? "" : (names.get(m.license) ?? m.license);
    return `<tr data-id="${escapeHtml(m.id)}"><td class="name"><bdi>${displayText(m.name)}</bdi></td><td><bdi>${displayText(m.family)}</bdi></td><td>${human(m.parameters, COUNT, 1000)}</td><td>${human(m.sizeBytes, BYTES, 1024)}</td><td class="license" title="${displayText(m.license)}"><bdi>${displayText(licence)}</bdi></td><td>${source}</td><td>${displayText(m.updatedAt.slice(0, 10))}</td><td${m.sha256 ? ` title="${m.sha256}"` : ""}>${m.sha256 ? m.sha256.slice(0, 12) : ""}</td></tr>`;
  }).join("\n");
  const options = view.licenses.map((l) => `<option value="${escapeHtml(l.id)}"${l.id === query.license ? " selected" : ""}>${displayText(l.name)} (${l.models.length})</option>`).join("");
  const inv = view.inventory;
  const next = view.nextCursor ? pageHref({ q: query.q, license: query.license, sort: query.sort, order: query.order, cursor: view.nextCursor }) : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Model inventory</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header>
  <h1>Model inventory</h1>
  <p id="summary">${inv.models} models, ${human(inv.totalSizeBytes, BYTES, 1024)} in total.</p>
</header>
<main>
  <form id="filters" role="search" action="/" method="get">
    <label>Search <input id="search" name="q" type="search" maxlength="200" autocomplete="off" placeholder="name, family, tag" value="${escapeHtml(query.q ?? "")}"></label>
    <label>Licence <select id="license" name="license"><option value="">all licences</option>${options}</select></label>
    <input type="hidden" name="sort" value="${query.sort}"><input type="hidden" name="order" value="${query.order}">
    <button id="apply" type="submit">Show</button>
  </form>
  <table id="models">
    <thead><tr>${head}</tr></thead>
    <tbody>
${rows}
    </tbody>
  </table>
  <p id="status" aria-live="polite">${statusText(view.models.length, view.nextCursor !== null)}</p>
  <a id="more" href="${escapeHtml(next)}"${next ? "" : " hidden"}>More</a>
</main>
<footer><a href="/api/inventory">inventory</a> · <a href="/api/licenses">licences</a> · <a href="/docs/">documentation</a></footer>
</body>
</html>
`;
}
