import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../errors.js";
import { SERVER_ENTRY } from "./options.js";

/** What `buildServerBundle` produced. */
export interface ServerBundle {
  /** Absolute path of the bundle directory (the `outDir` argument). */
  readonly dir: string;
  /** Content hash (16 hex digits) of every file: the release id used by `deploySteps`. */
  readonly releaseId: string;
  /** Server entry relative to `dir` (what the unit's ExecStart runs). */
  readonly entry: string;
  /** Runtime dependencies written to the bundle's package.json, with their version ranges. */
  readonly dependencies: Readonly<Record<string, string>>;
  /** Every file of the bundle, relative to `dir`, sorted. */
  readonly files: readonly string[];
  /**
   * The Node.js version that built the bundle (`process.versions.node`), whose major its native
   * addon is for; recorded as `builtWith.node` in the bundle's package.json, where the deploy's
   * first step reads it to refuse a host node of another major.
   */
  readonly nodeVersion: string;
  /**
   * `<process.platform>-<process.arch>` of the building machine (e.g. `linux-x64`), the platform
   * its native addon is compiled for; recorded as `builtWith.platform` and checked by the same
   * first deploy step against the host's.
   */
  readonly platform: string;
}

/**
 * Assembles what goes on the metadata host into `outDir` (emptied first):
 * - the compiled server entry (`dist/runtime/src/metadata/serve-main.js`) and exactly the compiled
 *   modules it imports, found by walking its relative imports (no MongoDB driver, no AWS SDK);
 * - `package.json` listing only the packages those modules import, with the ranges from the
 *   repository's package.json;
 * - `node_modules/` holding those packages and their dependency closure copied from the build
 *   machine, so the host needs no registry access. better-sqlite3 carries a native addon (its
 *   Linux prebuilds, or the one compiled into build/Release): the bundle is built with the Node
 *   major and on the platform the host runs. `builtWith.node` and `builtWith.platform` in
 *   package.json record the building node and its `<platform>-<arch>` (the deploy refuses a host
 *   that differs in either), and the
 *   build fails with `Error` when the addon does not load on it (an npm ci made by another node);
 * - `docs/` with the API documentation (served under `/docs`).
 * Requires a prior `npm run build` (throws `Error` saying so when `dist/` lacks the entry).
 * Idempotent: the same sources give the same `releaseId`.
 */
export async function buildServerBundle(outDir: string, opts: { repoRoot?: string } = {}): Promise<ServerBundle> {
  const root = opts.repoRoot ?? findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
  const entryAbs = path.join(root, SERVER_ENTRY);
  if (!existsSync(entryAbs)) throw new ConfigError("bundle", `${SERVER_ENTRY} is missing under ${root}; run \`npm run build\` first`);
  const dir = path.resolve(outDir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  const { modules, packages } = await walkImports(entryAbs);
  for (const file of modules) await copyFile(file, path.join(dir, path.relative(root, file)));

  const rootPkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { version?: string; dependencies?: Record<string, string>; engines?: Record<string, string> };
  const dependencies: Record<string, string> = {};
  for (const name of [...packages].sort()) {
    const range = rootPkg.dependencies?.[name];
    if (!range) throw new ConfigError("bundle", `the server imports ${name}, which is not a runtime dependency in package.json`);
    dependencies[name] = range;
  }
  if (dependencies["better-sqlite3"]) assertAddonLoads(root);
  const nodeVersion = process.versions.node;
  const platform = `${process.platform}-${process.arch}`;
  const bundlePkg = { name: "cloudsync-metadata-server", version: rootPkg.version ?? "0.0.0", private: true, type: "module", main: SERVER_ENTRY, engines: rootPkg.engines, builtWith: { node: nodeVersion, platform }, dependencies };
  await writeFile(path.join(dir, "package.json"), `${JSON.stringify(bundlePkg, null, 2)}\n`);

  for (const pkgDir of await dependencyClosure(root, Object.keys(dependencies))) {
    await cp(pkgDir, path.join(dir, path.relative(root, pkgDir)), { recursive: true, filter: (src) => keepInBundle(src) });
  }
  const apiDoc = path.join(root, "docs", "METADATA_API.md");
  if (existsSync(apiDoc)) await copyFile(apiDoc, path.join(dir, "docs", "METADATA_API.md"));

  const files = (await listFiles(dir)).sort();
  const hash = createHash("sha256");
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(await readFile(path.join(dir, f)));
  }
  return { dir, releaseId: hash.digest("hex").slice(0, 16), entry: SERVER_ENTRY, dependencies, files, nodeVersion, platform };
}

/** Opens an in-memory database with the repository's better-sqlite3, so a bundle never ships an addon this node cannot load. */
function assertAddonLoads(root: string): void {
  try {
    const Database = createRequire(path.join(root, "package.json"))("better-sqlite3") as new (file: string) => { close(): void };
    new Database(":memory:").close();
  } catch (err) {
    throw new ConfigError("bundle", `better-sqlite3's native addon does not load on Node ${process.versions.node} (${(err as Error).message.split("\n")[0]}); run npm ci with this node first`, { cause: err });
  }
}

function findRepoRoot(start: string): string {
  for (let d = start; ; d = path.dirname(d)) {
    const pkg = path.join(d, "package.json");
    if (existsSync(pkg) && existsSync(path.join(d, "runtime"))) return d;
    if (path.dirname(d) === d) throw new ConfigError("bundle", `no repository root above ${start}`);
  }
}

const IMPORT_RE = /(?:^|[;\s])(?:import|export)\s[^'";]*?from\s*["']([^"']+)["']|(?:^|[;\s])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The compiled modules reachable from `entry` through relative imports, and the packages they name. */
async function walkImports(entry: string): Promise<{ modules: string[]; packages: Set<string> }> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, "utf8");
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec || spec.startsWith("node:")) continue;
      if (spec.startsWith(".")) queue.push(path.resolve(path.dirname(file), spec));
      else packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string));
    }
  }
  return { modules: [...seen].sort(), packages };
}

/** Top-level package directories needed by `names` and everything they depend on, following Node's lookup. */
async function dependencyClosure(root: string, names: string[]): Promise<string[]> {
  const dirs = new Set<string>();
  const visit = async (name: string, from: string): Promise<void> => {
    let dir: string | undefined;
    for (let d = from; ; d = path.dirname(d)) {
      const candidate = path.join(d, "node_modules", name);
      if (existsSync(path.join(candidate, "package.json"))) {
        dir = candidate;
        break;
      }
      if (d === root || path.dirname(d) === d) break;
    }
    if (!dir) throw new ConfigError("bundle", `dependency ${name} is not installed (run npm ci)`);
    if (dirs.has(dir)) return;
    dirs.add(dir);
    const pkg = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (pkg.optionalDependencies?.[dep] && !existsSync(path.join(root, "node_modules", dep))) continue;
      await visit(dep, dir);
    }
  };
  for (const n of names) await visit(n, root);
  // Copying a top-level package copies its nested node_modules too; keep only the outermost dirs.
  const top = [...dirs].filter((d) => ![...dirs].some((o) => o !== d && d.startsWith(`${o}${path.sep}`)));
  return top.sort();
}

/**
 * Leaves out what the host never loads: better-sqlite3's bundled SQLite sources, build objects
 * and its prebuilds for macOS and Windows (the host is Linux, systemd), docs, source maps.
 */
function keepInBundle(src: string): boolean {
  const p = src.split(path.sep).join("/");
  if (/\/better-sqlite3\/(deps|src)(\/|$)/.test(p)) return false;
  if (/\/better-sqlite3\/prebuilds\/(darwin|win32)-[^/]+\.node$/.test(p)) return false;
  // Of build/, only a compiled addon (node-gyp leaves its Makefiles there even when a prebuild is used).
  const build = /\/better-sqlite3\/build(\/.*)?$/.exec(p);
  if (build) return build[1] === undefined || build[1] === "/Release" || build[1] === "/Release/better_sqlite3.node";
  return !/\.(md|map)$/.test(p);
}

async function copyFile(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  await cp(from, to);
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile() || (await stat(path.join(dir, rel))).isFile()) out.push(rel);
  }
  return out;
}
