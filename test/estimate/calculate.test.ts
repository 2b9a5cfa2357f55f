import { describe, expect, it } from "vitest";
import { calculateEstimate, growthPerMonth, uploadRequests, type BackupSample } from "../../runtime/src/estimate/calculate.js";
import { DEFAULT_PRICES, parsePriceTable, type PriceTable } from "../../runtime/src/estimate/prices.js";
import { ConfigError, NotFoundError } from "../../runtime/src/errors.js";

const MiB = 1024 * 1024;

// Two made-up providers with round figures, so every expected number below is worked by hand.
const PRICES: PriceTable = parsePriceTable({
  asOf: "2026-11-24",
  currency: "USD",
  providers: [
    { id: "flat", name: "Flat", storagePerGbMonth: 0.01, writePer1k: 0.005, listPer1k: 0.004, readPer1k: 0.0004, egressPerGb: 0.02, freeEgressGbPerMonth: 10, freeEgressStorageMultiple: 0, durability: "11 nines", source: "test" },
    { id: "b2-like", name: "B2-like", storagePerGbMonth: 0.006, writePer1k: 0, listPer1k: 0.004, readPer1k: 0.0004, egressPerGb: 0.01, freeEgressGbPerMonth: 0, freeEgressStorageMultiple: 3, durability: "11 nines", source: "test" },
  ],
});

// Three backups ten days apart, growing 10 MB each: 30 MB per 30-day month.
const BACKUPS: BackupSample[] = [
  { id: "b", createdAt: "2026-11-11T00:00:00.000Z", size: 110_000_000 },
  { id: "c", createdAt: "2026-11-21T00:00:00.000Z", size: 120_000_000 },
  { id: "a", createdAt: "2026-11-01T00:00:00.000Z", size: 100_000_000 },
];

describe("uploadRequests", () => {
  it("counts one PutObject up to one part, else create + parts + complete", () => {
    expect(uploadRequests(0)).toBe(1);
    expect(uploadRequests(8 * MiB)).toBe(1);
    expect(uploadRequests(8 * MiB + 1)).toBe(4);
    expect(uploadRequests(120_000_000)).toBe(17); // 15 parts
  });
  it("follows the part size doubling after 1,000 parts", () => {
    expect(uploadRequests(1000 * 8 * MiB)).toBe(1002);
    expect(uploadRequests(1000 * 8 * MiB + 16 * MiB)).toBe(1003);
    expect(uploadRequests(1000 * 8 * MiB + 16 * MiB + 1)).toBe(1004);
  });
});

describe("growthPerMonth", () => {
  it("is the least-squares slope per 30 days", () => {
    expect(growthPerMonth(BACKUPS)).toBe(30_000_000);
    expect(growthPerMonth([BACKUPS[0]!, { ...BACKUPS[1]!, size: 90_000_000 }])).toBe(-60_000_000);
  });
  it("is null with fewer than two distinct times", () => {
    expect(growthPerMonth([])).toBeNull();
    expect(growthPerMonth([BACKUPS[0]!])).toBeNull();
    expect(growthPerMonth([BACKUPS[0]!, { ...BACKUPS[0]!, id: "x", size: 5 }])).toBeNull();
  });
});

describe("calculateEstimate", () => {
  it("sizes 7 days local and 30 days cloud from the newest backup and prices each provider", () => {
    const e = calculateEstimate({ database: { known: false, reason: "test" }, backups: BACKUPS, localDays: 7, cloudDays: 30, prices: PRICES });
    expect(e).toEqual({
      basis: "newest-backup",
      backupBytes: 120_000_000,
      growthBytesPerMonth: 30_000_000,
      backupBytesIn12Months: 480_000_000,
      backupsPerMonth: 30,
      local: { days: 7, backupsKept: 7, bytes: 840_000_000, bytesIn12Months: 3_360_000_000 },
      cloud: { days: 30, backupsKept: 30, bytes: 3_600_000_000, bytesIn12Months: 14_400_000_000 },
      // writes 30 × (17 + 2), lists 30 × 2, reads 30 × (1 + 30)
      requestsPerMonth: { writes: 570, lists: 60, reads: 930 },
      pricesAsOf: "2026-11-24",
      providers: [
        // storage 3.6 GB × 0.01; requests (570×0.005 + 60×0.004 + 930×0.0004)/1000 = 0.003462;
        // verify egress 3.6 GB is inside the 10 GB free. In 12 months: 14.4 GB × 0.01 + requests
        // (30×62×0.005 + 0.24 + 0.372)/1000 = 0.009912 + (14.4 − 10) GB × 0.02 = 0.088.
        { id: "flat", name: "Flat", storage: 0.036, requests: 0.0035, verifyEgress: 0, monthly: 0.0395, monthlyIn12Months: 0.2419, restoreEgress: 0, durability: "11 nines" },
        // free egress is 3 × 3.6 GB stored, so verification reads cost nothing.
        { id: "b2-like", name: "B2-like", storage: 0.0216, requests: 0.0006, verifyEgress: 0, monthly: 0.0222, monthlyIn12Months: 0.087, restoreEgress: 0, durability: "11 nines" },
      ],
    });
  });

  it("falls back to the database's data size when there are no backups, and counts per-day runs and egress", () => {
    const e = calculateEstimate({
      database: { known: true, size: { dataBytes: 50_000_000_000, storageBytes: 1, indexBytes: 1, documents: 1, collections: 1, databases: 1 } },
      backups: [],
      localDays: 0.5,
      cloudDays: 2,
      backupsPerDay: 2,
      prices: PRICES,
    });
    expect(e.basis).toBe("database-data-size");
    expect(e.backupBytes).toBe(50_000_000_000);
    expect(e.growthBytesPerMonth).toBeNull();
    expect(e.backupsPerMonth).toBe(60);
    expect(e.local).toEqual({ days: 0.5, backupsKept: 1, bytes: 50_000_000_000, bytesIn12Months: 50_000_000_000 });
    expect(e.cloud.backupsKept).toBe(4);
    // 50 GB × 60 reads back = 3,000 GB, 10 GB free: 2,990 × 0.02 = 59.8; restore (50 − 10) × 0.02.
    expect(e.providers[0]!.verifyEgress).toBe(59.8);
    expect(e.providers[0]!.restoreEgress).toBe(0.8);
    expect(e.providers[0]!.storage).toBe(2);
    const noVerify = calculateEstimate({ database: { known: true, size: { dataBytes: 50_000_000_000, storageBytes: 1, indexBytes: 1, documents: 1, collections: 1, databases: 1 } }, backups: [], localDays: 1, cloudDays: 2, backupsPerDay: 2, verifyFromCloud: false, prices: PRICES });
    expect(noVerify.providers[0]!.verifyEgress).toBe(0);
  });

  it("refuses when there is nothing to estimate from", () => {
    const run = () => calculateEstimate({ database: { known: false, reason: "no such command: 'dbStats'" }, backups: [], localDays: 7, cloudDays: 30, prices: PRICES });
    expect(run).toThrow(NotFoundError);
    expect(run).toThrow("nothing to estimate from: no backups found and database size unknown: no such command: 'dbStats'");
  });
});

describe("price tables", () => {
  it("the built-in table is dated and covers the four providers", () => {
    expect(parsePriceTable(DEFAULT_PRICES)).toEqual(DEFAULT_PRICES);
    expect(DEFAULT_PRICES.providers.map((p) => p.id)).toEqual(["backblaze-b2", "aws-s3-standard", "gcs-standard", "azure-blob-hot"]);
    expect(DEFAULT_PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
  it("names the first bad field", () => {
    const bad = structuredClone(DEFAULT_PRICES) as unknown as { providers: Array<Record<string, unknown>>; asOf: string };
    bad.providers[1]!.egressPerGb = -1;
    expect(() => parsePriceTable(bad)).toThrow(new ConfigError("--prices", "providers[1].egressPerGb: must be a number ≥ 0, got -1"));
    bad.asOf = "last week";
    expect(() => parsePriceTable(bad)).toThrow('--prices: asOf: must be the date the prices were read, YYYY-MM-DD, got "last week"');
  });
});
