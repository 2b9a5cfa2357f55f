/**
 * The inventory page at `/`. Kept as a TypeScript string (not an .html file) because tsc copies
 * only .ts output into dist/, and the server must serve the same bytes from sources and from the
 * deployed bundle. No inline script or style, so the page works under a strict CSP.
 */
export const INDEX_HTML = `<!doctype html>
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
  <p id="summary" aria-live="polite"></p>
</header>
<main>
  <form id="filters" role="search" action="/api/models" method="get">
    <label>Search <input id="search" name="q" type="search" maxlength="200" autocomplete="off" placeholder="name, family, tag"></label>
    <label>Licence <select id="license" name="license"><option value="">all licences</option></select></label>
  </form>
  <noscript><p>This page needs JavaScript for search; the data is also at <a href="/api/models">/api/models</a>.</p></noscript>
  <table id="models">
    <thead><tr><th>Name</th><th>Family</th><th>Parameters</th><th>Size</th><th>Licence</th><th>Source</th><th>SHA-256</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="status" aria-live="polite"></p>
  <button id="more" type="button" hidden>More</button>
</main>
<footer><a href="/api/inventory">inventory</a> · <a href="/api/licenses">licences</a> · <a href="/docs/">documentation</a></footer>
</body>
</html>
`;
