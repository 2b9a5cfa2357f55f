import { createHash, randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import type { InventorySummary, LicenseManifestEntry, PublicModel, PushBody, PushResult } from "./public-schema.js";

/** Sort keys of `GET /api/models`. */
export const MODEL_SORTS = ["name", "updatedAt", "sizeBytes", "id"] as const;
/** A sort key of `GET /api/models`. */
export type ModelSort = (typeof MODEL_SORTS)[number];

/** A page query (already validated by the server's schema). */
export interface ModelQuery {
  readonly limit: number;
  readonly sort: ModelSort;
  readonly order: "asc" | "desc";
  /** Case-insensitive substring of the name. */
  readonly name?: string;
  /** Case-insensitive substring of name, family, tags or description. */
  readonly q?: string;
  /** Exact licence id. */
  readonly license?: string;
  /** Host of the source URL (`huggingface.co`). */
  readonly source?: string;
  /** Opaque cursor from a previous page's `nextCursor`. */
  readonly cursor?: string;
}

/** A page of models as ready-to-send JSON (rows are stored serialized, so a page is a string join). */
export interface ModelPage {
  readonly json: string;
}

/** A request (push or page query) refused before anything was written; `status` is the HTTP status to answer, `field` what to fix. */
export class RequestRejected extends Error {
  constructor(
    readonly status: number,
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The SQLite store behind the metadata server. One writer: the server process. */
export interface MetadataStore {
  /** Random id of this database file, fixed at creation; part of every ETag. */
  readonly instance: string;
  /** Data version: starts at 0, +1 per push that wrote something. */
  version(): number;
  /** A page of live (non-tombstoned) models. Throws `RequestRejected(400, "cursor")` on a bad cursor. */
  listModels(q: ModelQuery): ModelPage;
  /** One live model as JSON, or undefined when absent or tombstoned. */
  getModel(id: string): string | undefined;
  inventory(): InventorySummary;
  licenses(): LicenseManifestEntry[];
  /**
   * Applies a push in one transaction: upserts models (clearing tombstones), tombstones
   * `deleted`, upserts licences, bumps the version, and records the idempotency key with its
   * answer. A key seen before with the same body returns the recorded answer with
   * `replayed: true` and writes nothing; with another body it throws `RequestRejected(409)`.
   * An id both upserted and deleted throws `RequestRejected(400, "deleted")`.
   * `midTransaction` (fault injection for tests) runs after half the models are written.
   */
  applyPush(body: PushBody, rawBody: Buffer, idempotencyKey: string, nowMs: number, midTransaction?: () => void): PushResult;
  /** Closes the database (checkpointing the WAL). Idempotent. */
  close(): void;
}

/** Idempotency records older than this are pruned; far beyond the 300 s signature window. */
const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

const SORT_COLUMN: Record<ModelSort, string> = { name: "name_key", updatedAt: "updated_at", sizeBytes: "size_key", id: "id" };

/** Version of the cursor format: a cursor of another version is a 400 (start again). 2: natural name order. */
const CURSOR_VERSION = 2;

/**
 * The natural sort key of a name: case-folded, each run of digits replaced by its length
 * (3 digits) and its value without leading zeros, so that byte order is natural order
 * ("Model 2" < "Model 10") and digits still sort before letters. Pure.
 */
export function naturalKey(name: string): string {
  return name.toLowerCase().replace(/\d+/g, (digits) => {
    const value = digits.replace(/^0+(?=\d)/, "");
    return String(value.length).padStart(3, "0") + value;
  });
}

/**
 * Opens (creating if needed) the metadata database at `dbPath` in WAL mode with
 * `synchronous = FULL`, so an acknowledged push survives power loss and a killed process leaves
 * the last committed state. Throws the driver's error when the file cannot be opened.
 */
export function openMetadataStore(dbPath: string): MetadataStore {
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  // Page cache of 1 MiB instead of SQLite's 2 MiB default: reads are served from the response
  // cache, and a full scan (inventory, licences, free-text search) would otherwise leave 2 MiB of
  // pages resident in a server whose whole budget is 50 MB. The OS page cache backs re-reads.
  // No mmap (mmap_size stays 0), which would add the file's pages to the resident set.
  db.pragma("cache_size = -1024");
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS models (
      id TEXT PRIMARY KEY,
      name_lc TEXT NOT NULL,
      search TEXT NOT NULL,
      family TEXT,
      license TEXT,
      source_host TEXT,
      size_key INTEGER NOT NULL,
      parameters INTEGER,
      updated_at TEXT NOT NULL,
      doc TEXT NOT NULL,
      deleted_at TEXT
    );
    CREATE INDEX IF NOT EXISTS models_updated ON models(updated_at, id) WHERE deleted_at IS NULL;
    CREATE INDEX IF NOT EXISTS models_size ON models(size_key, id) WHERE deleted_at IS NULL;
    CREATE INDEX IF NOT EXISTS models_license ON models(license, id) WHERE deleted_at IS NULL;
    CREATE TABLE IF NOT EXISTS licenses (id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT);
    CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, body_sha256 TEXT NOT NULL, response TEXT NOT NULL, created_at INTEGER NOT NULL);
  `);
  addNaturalNameKey(db);
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', ?), ('version', '0')").run(randomBytes(6).toString("hex"));
  const instance = (db.prepare("SELECT value FROM meta WHERE key = 'instance'").get() as { value: string }).value;
  let version = Number((db.prepare("SELECT value FROM meta WHERE key = 'version'").get() as { value: string }).value);

  const getModel = db.prepare("SELECT doc FROM models WHERE id = ? AND deleted_at IS NULL").pluck();
  const upsertModel = db.prepare(`
    INSERT INTO models (id, name_lc, name_key, search, family, license, source_host, size_key, parameters, updated_at, doc, deleted_at)
    VALUES (@id, @name_lc, @name_key, @search, @family, @license, @source_host, @size_key, @parameters, @updated_at, @doc, NULL)
    ON CONFLICT(id) DO UPDATE SET name_lc = excluded.name_lc, name_key = excluded.name_key, search = excluded.search, family = excluded.family,
      license = excluded.license, source_host = excluded.source_host, size_key = excluded.size_key,
      parameters = excluded.parameters, updated_at = excluded.updated_at, doc = excluded.doc, deleted_at = NULL`);
  const tombstone = db.prepare("UPDATE models SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL");
  const upsertLicense = db.prepare("INSERT INTO licenses (id, name, url) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, url = excluded.url");
  const findIdem = db.prepare("SELECT body_sha256, response FROM idempotency WHERE key = ?");
  const putIdem = db.prepare("INSERT INTO idempotency (key, body_sha256, response, created_at) VALUES (?, ?, ?, ?)");
  const pruneIdem = db.prepare("DELETE FROM idempotency WHERE created_at < ?");
  const setVersion = db.prepare("UPDATE meta SET value = ? WHERE key = 'version'");
  const pageCache = new Map<string, Database.Statement<unknown[]>>();

  const push = db.transaction((body: PushBody, bodySha: string, key: string, nowMs: number, midTransaction?: () => void): PushResult => {
    const seen = findIdem.get(key) as { body_sha256: string; response: string } | undefined;
    if (seen) {
      if (seen.body_sha256 !== bodySha) throw new RequestRejected(409, "idempotency-key", "idempotency key already used with a different body");
      return { ...(JSON.parse(seen.response) as PushResult), replayed: true };
    }
    const upserted = new Set(body.models.map((m) => m.id));
    if (upserted.size !== body.models.length) throw new RequestRejected(400, "models", "a model id appears twice in the batch");
    for (const id of body.deleted ?? []) if (upserted.has(id)) throw new RequestRejected(400, "deleted", `model ${id} is both upserted and deleted in the batch`);
    const half = Math.floor(body.models.length / 2);
    body.models.forEach((m, i) => {
      if (i === half && midTransaction) midTransaction();
      upsertModel.run(modelRow(m));
    });
    if (body.models.length === 0 && midTransaction) midTransaction();
    let deleted = 0;
    const at = new Date(nowMs).toISOString();
    for (const id of body.deleted ?? []) deleted += tombstone.run(at, id).changes;
    for (const l of body.licenses ?? []) upsertLicense.run(l.id, l.name, l.url ?? null);
    const wrote = body.models.length + deleted + (body.licenses?.length ?? 0) > 0;
    const next = wrote ? version + 1 : version;
    if (wrote) setVersion.run(String(next));
    const result: PushResult = { upserted: body.models.length, deleted, licenses: body.licenses?.length ?? 0, replayed: false, version: next };
    putIdem.run(key, bodySha, JSON.stringify(result), nowMs);
    pruneIdem.run(nowMs - IDEMPOTENCY_RETENTION_MS);
    return result;
  });

  return {
    instance,
    version: () => version,
    listModels(q) {
      const col = SORT_COLUMN[q.sort];
      const where = ["deleted_at IS NULL"];
      const params: unknown[] = [];
      const filter = (clause: string, value: unknown): void => {
        where.push(clause);
        params.push(value);
      };
      if (q.license !== undefined) filter("license = ?", q.license);
      if (q.source !== undefined) filter("source_host = ?", q.source.toLowerCase());
      if (q.name !== undefined) filter("name_lc LIKE ? ESCAPE '\\'", `%${likeEscape(q.name.toLowerCase())}%`);
      if (q.q !== undefined) filter("search LIKE ? ESCAPE '\\'", `%${likeEscape(q.q.toLowerCase())}%`);
      if (q.cursor !== undefined) {
        const c = decodeCursor(q.cursor, q.sort, q.order);
        where.push(`(${col}, id) ${q.order === "asc" ? ">" : "<"} (?, ?)`);
        params.push(c.key, c.id);
      }
      const dir = q.order === "asc" ? "ASC" : "DESC";
      const sql = `SELECT doc, ${col} AS k, id FROM models WHERE ${where.join(" AND ")} ORDER BY ${col} ${dir}, id ${dir} LIMIT ?`;
      let stmt = pageCache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        // Statements differ only by which filters are present: a few dozen at most.
        if (pageCache.size < 256) pageCache.set(sql, stmt);
      }
      const rows = stmt.all(...params, q.limit + 1) as Array<{ doc: string; k: string | number; id: string }>;
      const more = rows.length > q.limit;
      if (more) rows.pop();
      const last = rows[rows.length - 1];
      const next = more && last ? encodeCursor(last.k, last.id, q.sort, q.order) : null;
      return { json: `{"items":[${rows.map((r) => r.doc).join(",")}],"nextCursor":${JSON.stringify(next)}}` };
    },
    getModel: (id) => getModel.get(id) as string | undefined,
    inventory() {
      // TOTAL, not SUM: SQLite's integer SUM fails with "integer overflow" past 2^63, and sizes
      // of up to 2^53 − 1 each reach that with ~1000 models; TOTAL sums in floating point.
      const totals = db.prepare("SELECT COUNT(*) AS n, TOTAL(MAX(size_key, 0)) AS size, TOTAL(parameters) AS params, MAX(updated_at) AS updated FROM models WHERE deleted_at IS NULL").get() as { n: number; size: number; params: number; updated: string | null };
      const families = db.prepare("SELECT COALESCE(family, '') AS family, COUNT(*) AS models, TOTAL(MAX(size_key, 0)) AS sizeBytes FROM models WHERE deleted_at IS NULL GROUP BY family ORDER BY models DESC, family").all() as InventorySummary["families"];
      const licenses = db.prepare("SELECT COALESCE(license, '') AS license, COUNT(*) AS models FROM models WHERE deleted_at IS NULL GROUP BY license ORDER BY models DESC, license").all() as InventorySummary["licenses"];
      return { models: totals.n, totalSizeBytes: totals.size, totalParameters: totals.params, families, licenses, updatedAt: totals.updated };
    },
    licenses() {
      const rows = db
        .prepare(
          `SELECT l.id AS id, COALESCE(k.name, l.id) AS name, k.url AS url, l.models AS models FROM
             (SELECT id, json_group_array(mid) AS models FROM
                (SELECT license AS id, id AS mid FROM models WHERE deleted_at IS NULL AND license IS NOT NULL
                 UNION ALL SELECT id, NULL FROM licenses ORDER BY 1, 2)
              GROUP BY id) l
           LEFT JOIN licenses k ON k.id = l.id ORDER BY l.id`,
        )
        .all() as Array<{ id: string; name: string; url: string | null; models: string }>;
      return rows.map((r) => ({ id: r.id, name: r.name, url: r.url, models: (JSON.parse(r.models) as Array<string | null>).filter((m): m is string => m !== null) }));
    },
    applyPush(body, rawBody, key, nowMs, midTransaction) {
      const result = push.immediate(body, createHash("sha256").update(rawBody).digest("hex"), key, nowMs, midTransaction);
      version = result.version > version ? result.version : version;
      return result;
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function modelRow(m: PublicModel): Record<string, unknown> {
  let sourceHost: string | null = null;
  if (m.sourceUrl) {
    try {
      sourceHost = new URL(m.sourceUrl).hostname.toLowerCase();
    } catch {
      sourceHost = null;
    }
  }
  return {
    id: m.id,
    name_lc: m.name.toLowerCase(),
    name_key: naturalKey(m.name),
    search: [m.name, m.family ?? "", ...(m.tags ?? []), m.description ?? ""].join("\n").toLowerCase(),
    family: m.family ?? null,
    license: m.license ?? null,
    source_host: sourceHost,
    size_key: m.sizeBytes ?? -1,
    parameters: m.parameters ?? null,
    // Stored in UTC so keyset order is chronological whatever offset the source used.
    updated_at: new Date(m.updatedAt).toISOString(),
    doc: JSON.stringify(m),
  };
}

/**
 * Adds the `name_key` column (natural name order) to a database created before it existed, and
 * fills it from the stored names, in one transaction; a new database gets it the same way.
 * Idempotent.
 */
function addNaturalNameKey(db: Database.Database): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('models')").pluck().all() as string[];
  if (!columns.includes("name_key")) {
    db.transaction(() => {
      db.exec("ALTER TABLE models ADD COLUMN name_key TEXT NOT NULL DEFAULT ''");
      const set = db.prepare("UPDATE models SET name_key = ? WHERE id = ?");
      for (const row of db.prepare("SELECT id, doc FROM models").all() as Array<{ id: string; doc: string }>) set.run(naturalKey((JSON.parse(row.doc) as PublicModel).name), row.id);
    })();
  }
  // The name order's index; the one on name_lc (the order before natural sorting) only cost writes.
  db.exec("CREATE INDEX IF NOT EXISTS models_name_key ON models(name_key, id) WHERE deleted_at IS NULL; DROP INDEX IF EXISTS models_name");
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function encodeCursor(key: string | number, id: string, sort: ModelSort, order: string): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, sort, order, key, id])).toString("base64url");
}

function decodeCursor(cursor: string, sort: ModelSort, order: string): { key: string | number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 5 && v[0] === CURSOR_VERSION && v[1] === sort && v[2] === order && (typeof v[3] === "string" || typeof v[3] === "number") && typeof v[4] === "string") return { key: v[3], id: v[4] };
  } catch {
    // fall through to the error below
  }
  throw new RequestRejected(400, "cursor", "cursor is not valid for this sort and order; start again without it");
}
