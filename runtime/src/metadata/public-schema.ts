/**
 * What is public about a model, as data. This one file is the allow-list shared by the
 * metadata server (request validation, response serialization) and the sync client (MongoDB
 * projection and the in-code filter applied after it). A field that is not listed here never
 * leaves the home machine. The schemas are plain JSON Schema (draft-07 subset, no `$ref`), so a
 * later issue can derive MongoDB `$jsonSchema` validators from them.
 */

/** Upper bound on a pushed batch: keeps one push (and its SQLite transaction) small. */
export const MAX_BATCH_ITEMS = 1000;

/** Largest page of `GET /api/models`; larger `limit` values are rejected with 400. */
export const MAX_PAGE_SIZE = 200;

/** Longest model id. The server's router admits route parameters of this length (issue 9, item 23). */
export const MODEL_ID_MAX_LENGTH = 128;

/** Model id: what appears in `/api/models/:id`, so URL-safe by construction. */
export const MODEL_ID_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,${MODEL_ID_MAX_LENGTH - 1}}$`;

const ID = { type: "string", minLength: 1, maxLength: MODEL_ID_MAX_LENGTH, pattern: MODEL_ID_PATTERN } as const;

/**
 * What the schema's `format` keywords mean, for the server's ajv and the client's check alike
 * (replacing ajv-formats' versions of these two names):
 * - `uri`: an http(s) URL exactly as the WHATWG URL parser (browsers, Node's `URL`) reads it, so
 *   whatever the server accepts the page can parse (ajv's `uri` admitted `https://h:99999/`).
 * - `date-time`: RFC 3339 with `Z` or a `±hh:mm` offset, a real calendar date, seconds 00–59 (no
 *   leap second: JavaScript dates cannot hold one), whose UTC instant falls in years 0000–9999,
 *   i.e. exactly what the server can store as a sortable UTC string.
 * Pure predicates; never throw.
 */
export const PUBLIC_FORMATS: Readonly<Record<"uri" | "date-time", (value: string) => boolean>> = {
  uri: isHttpUrl,
  "date-time": isStorableDateTime,
};

function isHttpUrl(value: string): boolean {
  const url = URL.parse(value);
  return url !== null && (url.protocol === "https:" || url.protocol === "http:");
}

const DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(?:Z|[+-](\d\d):(\d\d))$/i;

function isStorableDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetHours = Number(m[8] ?? 0);
  const offsetMinutes = Number(m[9] ?? 0);
  // Date.parse rolls 2021-02-30 over into March and 24:00 into the next day: check the fields.
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return false;
  const time = Date.parse(value);
  // A four-digit UTC year: "+010000-…" would break the stored strings' chronological order.
  return Number.isFinite(time) && new Date(time).toISOString().length === 24;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** One public model record. `additionalProperties: false`: anything else is rejected, not dropped. */
export const publicModelSchema = {
  $id: "cloudsync/public-model",
  type: "object",
  additionalProperties: false,
  required: ["id", "name", "updatedAt"],
  properties: {
    id: ID,
    name: { type: "string", minLength: 1, maxLength: 200 },
    family: { type: "string", maxLength: 100 },
    // A parameter count (7e9 for a "7B" model), not a display string, so it sorts and sums.
    parameters: { type: "integer", minimum: 0, maximum: 1e15 },
    // At most 2^53 − 1, the largest integer JSON readers hold exactly; inventory totals are
    // summed in floating point (SQLite TOTAL), so they never overflow (issue 9, item 25).
    sizeBytes: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    license: { type: "string", minLength: 1, maxLength: 100 },
    // `format: uri` (see PUBLIC_FORMATS) admits only http(s); the pattern also keeps leading
    // spaces out, which the URL parser would strip.
    sourceUrl: { type: "string", maxLength: 2048, format: "uri", pattern: "^https?://" },
    sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
    tags: { type: "array", maxItems: 32, items: { type: "string", minLength: 1, maxLength: 50 } },
    description: { type: "string", maxLength: 4000 },
    updatedAt: { type: "string", format: "date-time", maxLength: 40 },
  },
} as const;

/** One public model (the TypeScript view of `publicModelSchema`). */
export interface PublicModel {
  id: string;
  name: string;
  family?: string;
  parameters?: number;
  sizeBytes?: number;
  license?: string;
  sourceUrl?: string;
  sha256?: string;
  tags?: string[];
  description?: string;
  /** ISO 8601 date-time of the last change at the source. */
  updatedAt: string;
}

/** The allow-list: exactly the public field names, in schema order. */
export const PUBLIC_MODEL_FIELDS = Object.keys(publicModelSchema.properties) as ReadonlyArray<keyof PublicModel>;

/** A licence manifest entry pushed alongside models (SPDX id, display name, text URL). */
export const licenseSchema = {
  $id: "cloudsync/license",
  type: "object",
  additionalProperties: false,
  required: ["id", "name"],
  properties: {
    id: { type: "string", minLength: 1, maxLength: 100 },
    name: { type: "string", minLength: 1, maxLength: 200 },
    url: { type: "string", maxLength: 2048, format: "uri", pattern: "^https?://" },
  },
} as const;

/** A licence manifest entry. */
export interface PublicLicense {
  id: string;
  name: string;
  url?: string;
}

/**
 * Body of `POST /api/sync/metadata`. Semantics (applied in one SQLite transaction): every entry
 * of `models` is upserted by id (clearing any tombstone), every id in `deleted` becomes a
 * tombstone (hidden from every GET), every entry of `licenses` is upserted. Order inside the
 * batch does not matter because an id may not appear in both lists (checked by the server).
 */
export const pushBodySchema = {
  $id: "cloudsync/push-body",
  type: "object",
  additionalProperties: false,
  required: ["models"],
  properties: {
    models: { type: "array", maxItems: MAX_BATCH_ITEMS, items: publicModelSchema },
    deleted: { type: "array", maxItems: MAX_BATCH_ITEMS, items: ID },
    licenses: { type: "array", maxItems: MAX_BATCH_ITEMS, items: licenseSchema },
  },
} as const;

/** Body of `POST /api/sync/metadata`. */
export interface PushBody {
  models: PublicModel[];
  deleted?: string[];
  licenses?: PublicLicense[];
}

/** What the server answers to an accepted push. */
export interface PushResult {
  upserted: number;
  deleted: number;
  licenses: number;
  /** True when the idempotency key was seen before: nothing was written this time. */
  replayed: boolean;
  /** The data version after the push (also the basis of every GET's ETag). */
  version: number;
}

/** Inventory summary (`GET /api/inventory`). */
export interface InventorySummary {
  models: number;
  totalSizeBytes: number;
  totalParameters: number;
  families: Array<{ family: string; models: number; sizeBytes: number }>;
  licenses: Array<{ license: string; models: number }>;
  /** Latest `updatedAt` of any model, or null when empty. */
  updatedAt: string | null;
}

/** One row of `GET /api/licenses`: a licence in use or pushed, with the models under it. */
export interface LicenseManifestEntry {
  id: string;
  name: string;
  url: string | null;
  models: string[];
}

/**
 * Returns a copy of `doc` holding only allow-listed fields, converting values the MongoDB driver
 * hands back (Date, Long, Int32/Double wrappers, ObjectId ids) to the public JSON types. Applied
 * in code after every read, because a projection is a request the server may ignore.
 * Contract: the result never has a key outside `PUBLIC_MODEL_FIELDS`; values are not validated
 * here (the server's schema does that), except that `undefined`/`null` fields are dropped.
 */
export function projectPublic(doc: Record<string, unknown>): PublicModel {
  const out: Record<string, unknown> = {};
  for (const field of PUBLIC_MODEL_FIELDS) {
    const source = field === "id" && doc.id === undefined ? doc._id : doc[field];
    const value = toPublicValue(source, field);
    if (value !== undefined && value !== null) out[field] = value;
  }
  return out as unknown as PublicModel;
}

function toPublicValue(value: unknown, field: keyof PublicModel): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value === null || value === undefined) return undefined;
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return field === "tags" ? value.map((v) => String(v)) : undefined;
  if (typeof value === "object") {
    // BSON wrappers (Long, Int32, Double, Decimal128, ObjectId) all expose toString/valueOf;
    // only numbers and strings are public types, nested documents never are.
    const bsontype = (value as { _bsontype?: string })._bsontype;
    if (bsontype === "ObjectId") return String(value);
    if (bsontype === "Long" || bsontype === "Int32" || bsontype === "Double" || bsontype === "Decimal128") return Number(String(value));
    return undefined;
  }
  return value;
}
