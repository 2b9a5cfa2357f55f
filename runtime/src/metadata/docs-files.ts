import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";

/** A documentation file ready to stream, or a generated index. */
export type DocsAnswer =
  | { kind: "file"; stream: Readable; size: number; type: string; etag: string }
  | { kind: "index"; html: string }
  | { kind: "missing" };

const TYPES: Record<string, string> = {
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/**
 * Resolves `/docs/<rel>` inside `docsDir`. Only regular files with a known extension are served;
 * dot-files, anything resolving (through `..` or a symlink) outside `docsDir`, and unknown types
 * are "missing", never an error, so a probe learns nothing about the host's file system.
 * An empty `rel` gives an HTML index of the top-level files.
 */
export async function lookupDoc(docsDir: string, rel: string): Promise<DocsAnswer> {
  let root: string;
  try {
    root = await realpath(docsDir);
  } catch {
    return { kind: "missing" };
  }
  if (rel === "" || rel === "/") {
    const entries = await readdir(root, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && !e.name.startsWith(".") && TYPES[path.extname(e.name).toLowerCase()]).map((e) => e.name).sort();
    const items = names.map((n) => `<li><a href="/docs/${encodeURIComponent(n)}">${escapeHtml(n)}</a></li>`).join("\n");
    return { kind: "index", html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Documentation</title></head><body><h1>Documentation</h1><ul>\n${items}\n</ul></body></html>\n` };
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return { kind: "missing" };
  }
  if (decoded.includes("\0") || decoded.split("/").some((part) => part.startsWith("."))) return { kind: "missing" };
  const type = TYPES[path.extname(decoded).toLowerCase()];
  if (!type) return { kind: "missing" };
  try {
    const real = await realpath(path.join(root, decoded));
    if (!real.startsWith(`${root}${path.sep}`)) return { kind: "missing" };
    const st = await stat(real);
    if (!st.isFile()) return { kind: "missing" };
    return { kind: "file", stream: createReadStream(real), size: st.size, type, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
  } catch {
    return { kind: "missing" };
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
