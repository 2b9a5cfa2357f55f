import { NotFoundError } from "../errors.js";
import { newestFirst } from "../manifest/order.js";
import type { PriceTable } from "./prices.js";

/** Sizes measured on the live database: sums over the collections a backup would dump (their `$collStats` storage statistics). */
export interface DatabaseSize {
  /** Uncompressed BSON bytes of the documents (storageStats.size): what a backup archive holds. */
  readonly dataBytes: number;
  /** Bytes on disk for the data (storageStats.storageSize, after WiredTiger compression). */
  readonly storageBytes: number;
  readonly indexBytes: number;
  readonly documents: number;
  readonly collections: number;
  readonly databases: number;
}

/** The database as measured: its size, or why it could not be measured. */
export type DatabaseMeasurement = { readonly known: true; readonly size: DatabaseSize } | { readonly known: false; readonly reason: string };

/** One stored backup, as its manifest records it. */
export interface BackupSample {
  readonly id: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Bytes of the stored (compressed, encrypted) object. */
  readonly size: number;
}

/** Input of `calculateEstimate`. */
export interface EstimateInput {
  readonly database: DatabaseMeasurement;
  /** Recent backups, any order. */
  readonly backups: readonly BackupSample[];
  /** Days a backup stays in the local destination (from keepWithin). */
  readonly localDays: number;
  /** Days a backup stays in the cloud. */
  readonly cloudDays: number;
  /** Backups made per day (the daemon's schedule); default 1. */
  readonly backupsPerDay?: number;
  /** Whether each cloud backup is read back by `verify` (a GET of the whole object: egress). Default true. */
  readonly verifyFromCloud?: boolean;
  /** First multipart part size of the uploader, bytes (8 MiB). */
  readonly partSize?: number;
  readonly prices: PriceTable;
}

/** Cost of one provider, $ per month unless named otherwise; rounded to 1/10,000 of a dollar. */
export interface ProviderCost {
  readonly id: string;
  readonly name: string;
  readonly storage: number;
  readonly requests: number;
  /** Egress of the monthly verification reads, after the provider's free allowance. */
  readonly verifyEgress: number;
  readonly monthly: number;
  /** The monthly total with the backup grown for 12 months at the measured rate. */
  readonly monthlyIn12Months: number;
  /** One-off: downloading the newest backup once for a restore, after the free allowance. */
  readonly restoreEgress: number;
  readonly durability: string;
}

/** What `calculateEstimate` returns; every byte figure is a whole number. */
export interface Estimate {
  /** What the per-backup size comes from: the newest backup, or (no backups yet) the database's uncompressed data size. */
  readonly basis: "newest-backup" | "database-data-size";
  readonly backupBytes: number;
  /** Growth of the backup size per 30-day month from a least-squares line over the backups' createdAt; null with fewer than 2 distinct times. */
  readonly growthBytesPerMonth: number | null;
  readonly backupBytesIn12Months: number;
  readonly backupsPerMonth: number;
  readonly local: { readonly days: number; readonly backupsKept: number; readonly bytes: number; readonly bytesIn12Months: number };
  readonly cloud: { readonly days: number; readonly backupsKept: number; readonly bytes: number; readonly bytesIn12Months: number };
  /** Requests against the cloud destination per month. */
  readonly requestsPerMonth: { readonly writes: number; readonly lists: number; readonly reads: number };
  readonly pricesAsOf: string;
  readonly providers: readonly ProviderCost[];
}

/** Days in the month the estimate bills by. */
export const DAYS_PER_MONTH = 30;
const MONTH_MS = DAYS_PER_MONTH * 86_400_000;
const GB = 1e9;
const DEFAULT_PART = 8 * 1024 * 1024;

/**
 * Requests one upload of `size` bytes makes: one PutObject up to one part, otherwise
 * CreateMultipartUpload + one UploadPart per part + CompleteMultipartUpload. Parts are `partSize`
 * (the uploader's size doubles every 1,000 parts; that matters only past ≈7.8 GiB and is counted).
 */
export function uploadRequests(size: number, partSize = DEFAULT_PART): number {
  if (size <= partSize) return 1;
  let parts = 0;
  for (let left = size, i = 0; left > 0; i++, parts++) left -= partSize * 2 ** Math.floor(i / 1000);
  return parts + 2;
}

/**
 * Least-squares slope of size over time, in bytes per 30-day month, rounded to a whole byte;
 * null when fewer than two distinct createdAt times exist.
 */
export function growthPerMonth(backups: readonly BackupSample[]): number | null {
  const pts = backups.map((b) => [Date.parse(b.createdAt), b.size] as const);
  if (new Set(pts.map(([x]) => x)).size < 2) return null;
  const mx = pts.reduce((s, [x]) => s + x, 0) / pts.length;
  const my = pts.reduce((s, [, y]) => s + y, 0) / pts.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return Math.round((num / den) * MONTH_MS);
}

const money = (n: number): number => Math.round(n * 10_000) / 10_000;

/**
 * The sizing and cost model (pure; same input, same output):
 *
 * - per-backup size: the newest backup's stored size, else the database's uncompressed dataSize
 *   (an upper bound until a backup exists); with neither, NotFoundError;
 * - kept backups: ceil(days × backupsPerDay), at least 1, each of the per-backup size;
 * - in 12 months: per-backup size + 12 × growth (never below 0);
 * - cloud requests per backup: the upload's requests + 2 writes (manifest, verification record),
 *   2 lists (manifests, verifications) and 1 + kept reads (the verify GET, every manifest read
 *   when listing); deletes are free everywhere and not counted;
 * - verify egress: each backup read back once (when verifyFromCloud), less the free allowance
 *   (a fixed GB figure plus a multiple of the stored volume);
 * - restore egress: the newest backup downloaded once, less the same allowance.
 */
export function calculateEstimate(input: EstimateInput): Estimate {
  const perDay = input.backupsPerDay ?? 1;
  const newest = newestFirst(input.backups)[0];
  let basis: Estimate["basis"];
  let backupBytes: number;
  if (newest) {
    basis = "newest-backup";
    backupBytes = newest.size;
  } else if (input.database.known) {
    basis = "database-data-size";
    backupBytes = input.database.size.dataBytes;
  } else {
    throw new NotFoundError(`nothing to estimate from: no backups found and database size unknown: ${input.database.reason}`);
  }
  const growth = growthPerMonth(input.backups);
  const in12 = Math.max(0, backupBytes + 12 * (growth ?? 0));
  const kept = (days: number): number => Math.max(1, Math.ceil(days * perDay));
  const tier = (days: number) => ({ days, backupsKept: kept(days), bytes: kept(days) * backupBytes, bytesIn12Months: kept(days) * in12 });
  const local = tier(input.localDays);
  const cloud = tier(input.cloudDays);
  const backupsPerMonth = DAYS_PER_MONTH * perDay;
  const requestsFor = (size: number) => ({
    writes: backupsPerMonth * (uploadRequests(size, input.partSize) + 2),
    lists: backupsPerMonth * 2,
    reads: backupsPerMonth * (1 + cloud.backupsKept),
  });
  const requestsPerMonth = requestsFor(backupBytes);
  const verify = input.verifyFromCloud ?? true;

  const providers = input.prices.providers.map((p): ProviderCost => {
    const free = (storedBytes: number): number => p.freeEgressGbPerMonth + (p.freeEgressStorageMultiple * storedBytes) / GB;
    const egress = (gb: number, storedBytes: number): number => Math.max(0, gb - free(storedBytes)) * p.egressPerGb;
    const monthlyFor = (size: number, stored: number) => {
      const r = requestsFor(size);
      const storage = (stored / GB) * p.storagePerGbMonth;
      const requests = (r.writes * p.writePer1k + r.lists * p.listPer1k + r.reads * p.readPer1k) / 1000;
      const verifyEgress = verify ? egress((size * backupsPerMonth) / GB, stored) : 0;
      return { storage, requests, verifyEgress, total: storage + requests + verifyEgress };
    };
    const now = monthlyFor(backupBytes, cloud.bytes);
    const later = monthlyFor(in12, cloud.bytesIn12Months);
    return {
      id: p.id,
      name: p.name,
      storage: money(now.storage),
      requests: money(now.requests),
      verifyEgress: money(now.verifyEgress),
      monthly: money(now.total),
      monthlyIn12Months: money(later.total),
      restoreEgress: money(egress(backupBytes / GB, cloud.bytes)),
      durability: p.durability,
    };
  });
  return { basis, backupBytes, growthBytesPerMonth: growth, backupBytesIn12Months: in12, backupsPerMonth, local, cloud, requestsPerMonth, pricesAsOf: input.prices.asOf, providers };
}
