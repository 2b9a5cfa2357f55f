import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";

/**
 * One provider's list prices in US dollars. A GB here is 10^9 bytes (B2, GCS and Azure bill
 * decimal GB; AWS bills per 2^30 bytes, so its figure reads about 7 % high here, on the safe side).
 */
export interface ProviderPrices {
  /** Stable id used in JSON output and in `--prices` files. */
  readonly id: string;
  /** Human name, with the storage class and region the figures are for. */
  readonly name: string;
  /** Storage, $ per GB-month. */
  readonly storagePerGbMonth: number;
  /** PutObject, UploadPart, Create/CompleteMultipartUpload: $ per 1,000 requests. */
  readonly writePer1k: number;
  /** ListObjects: $ per 1,000 requests. */
  readonly listPer1k: number;
  /** GetObject and HeadObject: $ per 1,000 requests. */
  readonly readPer1k: number;
  /** Download to the internet, $ per GB. */
  readonly egressPerGb: number;
  /** Egress free each month, in GB (0 when none). */
  readonly freeEgressGbPerMonth: number;
  /** Egress free each month as a multiple of the average stored volume (B2: 3×; 0 when none). */
  readonly freeEgressStorageMultiple: number;
  /** The provider's stated design durability for this class, as text ("99.999999999 %"). */
  readonly durability: string;
  /** The pricing page the figures come from. */
  readonly source: string;
}

/** A dated price table: what `cloudsync estimate` computes costs from. */
export interface PriceTable {
  /** The day the figures were read from the sources (YYYY-MM-DD); prices change, so it is printed. */
  readonly asOf: string;
  readonly currency: "USD";
  /** Caveats that apply to every provider. */
  readonly notes: readonly string[];
  readonly providers: readonly ProviderPrices[];
}

/**
 * The built-in table: public list prices for the first pricing tier (under 50 TB) in a US region.
 * Deletes are free at all four providers, so they are not priced. Override with
 * `cloudsync estimate --prices <file>` (same JSON shape) when the figures move or for another region.
 */
export const DEFAULT_PRICES: PriceTable = {
  asOf: "2026-11-24",
  currency: "USD",
  notes: [
    "List prices for the first tier in a US region, read from each provider's pricing page on the asOf date; check the source before deciding.",
    "A GB is 10^9 bytes. Taxes, minimum-duration charges and committed-use discounts are not modelled.",
    "AWS and Azure free egress (100 GB/month) is per account, shared with everything else in it.",
  ],
  providers: [
    {
      id: "backblaze-b2",
      name: "Backblaze B2 (single class)",
      storagePerGbMonth: 0.006,
      writePer1k: 0,
      listPer1k: 0.004,
      readPer1k: 0.0004,
      egressPerGb: 0.01,
      freeEgressGbPerMonth: 0,
      freeEgressStorageMultiple: 3,
      durability: "99.999999999 % (11 nines)",
      source: "https://www.backblaze.com/cloud-storage/pricing and https://www.backblaze.com/cloud-storage/transaction-pricing",
    },
    {
      id: "aws-s3-standard",
      name: "AWS S3 Standard (us-east-1)",
      storagePerGbMonth: 0.023,
      writePer1k: 0.005,
      listPer1k: 0.005,
      readPer1k: 0.0004,
      egressPerGb: 0.09,
      freeEgressGbPerMonth: 100,
      freeEgressStorageMultiple: 0,
      durability: "99.999999999 % (11 nines)",
      source: "https://aws.amazon.com/s3/pricing/",
    },
    {
      id: "gcs-standard",
      name: "Google Cloud Storage Standard (us-east1)",
      storagePerGbMonth: 0.02,
      writePer1k: 0.005,
      listPer1k: 0.005,
      readPer1k: 0.0004,
      egressPerGb: 0.12,
      freeEgressGbPerMonth: 0,
      freeEgressStorageMultiple: 0,
      durability: "99.999999999 % (11 nines)",
      source: "https://cloud.google.com/storage/pricing",
    },
    {
      id: "azure-blob-hot",
      name: "Azure Blob Storage Hot LRS (East US)",
      storagePerGbMonth: 0.018,
      writePer1k: 0.005,
      listPer1k: 0.005,
      readPer1k: 0.0004,
      egressPerGb: 0.087,
      freeEgressGbPerMonth: 100,
      freeEgressStorageMultiple: 0,
      durability: "99.999999999 % (11 nines, LRS; ZRS 12 nines, GRS 16 nines)",
      source: "https://azure.microsoft.com/en-us/pricing/details/storage/blobs/",
    },
  ],
};

const NUMBER_FIELDS = ["storagePerGbMonth", "writePer1k", "listPer1k", "readPer1k", "egressPerGb", "freeEgressGbPerMonth", "freeEgressStorageMultiple"] as const;
const TEXT_FIELDS = ["id", "name", "durability", "source"] as const;

/**
 * Checks that `value` is a PriceTable (every number finite and ≥ 0, `asOf` a YYYY-MM-DD date,
 * at least one provider, ids unique) and returns it frozen. Throws ConfigError(`field`, …)
 * naming the first bad entry, e.g. `providers[1].egressPerGb`.
 */
export function parsePriceTable(value: unknown, field = "--prices"): PriceTable {
  const bad = (where: string, msg: string): never => {
    throw new ConfigError(field, `${where}: ${msg}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("price table", "must be a JSON object with asOf, currency and providers");
  const t = value as Record<string, unknown>;
  if (typeof t.asOf !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(t.asOf) || Number.isNaN(Date.parse(t.asOf))) bad("asOf", `must be the date the prices were read, YYYY-MM-DD, got ${JSON.stringify(t.asOf)}`);
  if (t.currency !== "USD") bad("currency", `must be "USD", got ${JSON.stringify(t.currency)}`);
  const notes = t.notes === undefined ? [] : t.notes;
  if (!Array.isArray(notes) || notes.some((n) => typeof n !== "string")) bad("notes", "must be a list of strings");
  if (!Array.isArray(t.providers) || t.providers.length === 0) bad("providers", "must be a non-empty list");
  const ids = new Set<string>();
  const providers = (t.providers as unknown[]).map((p, i): ProviderPrices => {
    const at = `providers[${i}]`;
    if (typeof p !== "object" || p === null) bad(at, "must be an object");
    const r = p as Record<string, unknown>;
    for (const k of TEXT_FIELDS) if (typeof r[k] !== "string" || r[k] === "") bad(`${at}.${k}`, "must be a non-empty string");
    for (const k of NUMBER_FIELDS) if (typeof r[k] !== "number" || !Number.isFinite(r[k]) || r[k] < 0) bad(`${at}.${k}`, `must be a number ≥ 0, got ${JSON.stringify(r[k])}`);
    if (ids.has(r.id as string)) bad(`${at}.id`, `"${String(r.id)}" appears twice`);
    ids.add(r.id as string);
    return Object.freeze(Object.fromEntries([...TEXT_FIELDS, ...NUMBER_FIELDS].map((k) => [k, r[k]]))) as unknown as ProviderPrices;
  });
  return Object.freeze({ asOf: t.asOf as string, currency: "USD", notes: Object.freeze([...(notes as string[])]), providers: Object.freeze(providers) });
}

/** Reads and validates a `--prices` JSON file. Throws ConfigError("--prices", …) when unreadable or invalid. */
export function loadPriceTable(path: string): PriceTable {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("--prices", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError("--prices", `${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parsePriceTable(value);
}
