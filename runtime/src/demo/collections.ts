import { EJSON } from "bson";
import { createPrng } from "./prng.js";

/** The demo database's name. */
export const DEMO_DATABASE = "cloudsync";

/** The demo collections, in the order they appear in a demo archive. */
export const DEMO_COLLECTIONS = ["models", "inventories", "licenses", "events"] as const;

/** One of the demo collections. */
export type DemoCollection = (typeof DEMO_COLLECTIONS)[number];

type IndexSpec = { readonly name: string; readonly key: Record<string, 1 | -1 | "text">; readonly [option: string]: unknown };

/** Secondary indexes a real deployment of this data would have; `_id_` is added for every collection. */
const INDEXES: Record<DemoCollection, readonly IndexSpec[]> = {
  models: [
    { name: "name_1_version_1", key: { name: 1, version: 1 }, unique: true },
    { name: "family_1_parameters_-1", key: { family: 1, parameters: -1 } },
    { name: "sha256_1", key: { sha256: 1 }, unique: true },
    { name: "tags_1", key: { tags: 1 } },
  ],
  inventories: [
    { name: "site_1_sku_1", key: { site: 1, sku: 1 }, unique: true },
    { name: "modelId_1", key: { modelId: 1 } },
    // Partial indexes accept only equality, $exists, $gt/$gte/$lt/$lte, $type and $and: no $ne.
    { name: "status_1_updatedAt_-1", key: { status: 1, updatedAt: -1 }, partialFilterExpression: { quantity: { $gt: 0 } } },
  ],
  licenses: [{ name: "spdxId_1", key: { spdxId: 1 }, unique: true }],
  events: [
    { name: "ts_-1", key: { ts: -1 } },
    { name: "modelId_1_ts_-1", key: { modelId: 1, ts: -1 } },
    { name: "type_1_ts_-1", key: { type: 1, ts: -1 } },
    // No TTL index: the demo's 2024 timestamps would be expired by the server right after a restore.
    { name: "actor_1", key: { actor: 1 }, sparse: true },
  ],
};

const dateType = { bsonType: "date" };
const stringType = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ bsonType: "string", ...extra });

/** `$jsonSchema` validators: the shape the demo documents promise, enforced the way a careful team would. */
const VALIDATORS: Record<DemoCollection, Record<string, unknown>> = {
  models: {
    bsonType: "object",
    required: ["name", "family", "version", "parameters", "sizeBytes", "license", "sourceUrl", "sha256", "createdAt", "updatedAt"],
    properties: {
      name: stringType({ minLength: 1, maxLength: 200 }),
      family: stringType(),
      version: stringType(),
      parameters: { bsonType: "long", minimum: 0 },
      sizeBytes: { bsonType: "long", minimum: 0 },
      license: stringType(),
      sourceUrl: stringType({ pattern: "^https://" }),
      sha256: stringType({ pattern: "^[0-9a-f]{64}$" }),
      tags: { bsonType: "array", items: stringType(), uniqueItems: true },
      createdAt: dateType,
      updatedAt: dateType,
    },
  },
  inventories: {
    bsonType: "object",
    required: ["site", "sku", "modelId", "quantity", "status", "updatedAt"],
    properties: {
      site: stringType(),
      sku: stringType(),
      modelId: { bsonType: "objectId" },
      quantity: { bsonType: "int", minimum: 0 },
      status: { enum: ["active", "staged", "draining", "retired"] },
      updatedAt: dateType,
    },
  },
  licenses: {
    bsonType: "object",
    required: ["spdxId", "name", "url", "osiApproved"],
    properties: {
      spdxId: stringType(),
      name: stringType(),
      url: stringType({ pattern: "^https://" }),
      osiApproved: { bsonType: "bool" },
    },
  },
  events: {
    bsonType: "object",
    required: ["ts", "type", "actor", "requestId"],
    properties: {
      ts: dateType,
      type: stringType(),
      actor: stringType(),
      requestId: { bsonType: "binData" },
      durationMs: { bsonType: ["int", "double"] },
    },
  },
};

/**
 * The collection-metadata string mongodump writes for `collection` in the demo database:
 * canonical Extended JSON v2 of `{ options, indexes, uuid, collectionName, type }`, in that
 * field order (mongodump's own). The UUID is derived from `seed`, so the same seed gives the
 * same archive byte for byte.
 */
export function demoCollectionMetadata(collection: DemoCollection, seed: number): string {
  const indexes = [{ name: "_id_", key: { _id: 1 } }, ...INDEXES[collection]].map(({ name, key, ...options }) => ({
    v: 2,
    key,
    name,
    ...options,
  }));
  const raw = createPrng(seed ^ (DEMO_COLLECTIONS.indexOf(collection) * 0x01000193)).hex(16);
  // Shaped like the version-4 UUIDs the server assigns to collections (RFC 9562 §5.4).
  const uuid = `${raw.slice(0, 12)}4${raw.slice(13, 16)}${"89ab"[Number.parseInt(raw[16] ?? "0", 16) & 3]}${raw.slice(17)}`;
  const metadata = {
    options: {
      validator: { $jsonSchema: VALIDATORS[collection] },
      validationLevel: "strict",
      validationAction: "error",
    },
    indexes,
    uuid,
    collectionName: collection,
    type: "collection",
  };
  return EJSON.stringify(metadata, { relaxed: false });
}
