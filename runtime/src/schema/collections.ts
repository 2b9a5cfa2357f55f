/**
 * The collections the product defines and their MongoDB validators (issue 6 §2). The public
 * fields of `models` and the whole of `licenses` are derived from the metadata API's public schema
 * (runtime/src/metadata/public-schema.ts), so what is public and what is stored agree by
 * construction: change a field there and both the sync's allow-list and `db init` follow.
 */
import { InternalError } from "../errors.js";
import { licenseSchema, publicModelSchema } from "../metadata/public-schema.js";
import { toMongoJsonSchema, type JsonSchema } from "./mongo-json-schema.js";

/** An index `db init` creates (idempotent: an identical existing index is kept). */
export interface IndexDefinition {
  readonly name: string;
  readonly key: Readonly<Record<string, 1 | -1>>;
  readonly unique?: boolean;
  readonly partialFilterExpression?: Readonly<Record<string, unknown>>;
}

/** One product collection: its name, validator and indexes. */
export interface CollectionDefinition {
  readonly name: string;
  /** What it holds, for docs and `db init --dry-run`. */
  readonly description: string;
  /** The `$jsonSchema` value of the validator. */
  readonly jsonSchema: Readonly<Record<string, unknown>>;
  readonly indexes: readonly IndexDefinition[];
}

/** Default database of the product collections (the same default as `sync-metadata --database`). */
export const DEFAULT_DATABASE = "models";

const objectId = { bsonType: ["objectId", "string"] };
const date = { bsonType: "date" };

/** Fields of a model that stay on the home machine (never in the public allow-list). */
const PRIVATE_MODEL_FIELDS: Readonly<Record<string, unknown>> = {
  _id: { bsonType: ["objectId", "string"] },
  localPath: { bsonType: "string", maxLength: 4096 },
  notes: { bsonType: "string", maxLength: 20000 },
  createdAt: date,
};

function modelsSchema(): Record<string, unknown> {
  const pub = toMongoJsonSchema(publicModelSchema as JsonSchema);
  const pubProps = pub.properties as Record<string, unknown>;
  const clash = Object.keys(PRIVATE_MODEL_FIELDS).filter((k) => k in pubProps);
  if (clash.length > 0) throw new InternalError(`schema: private model fields ${clash.join(", ")} are also public`);
  return {
    bsonType: "object",
    // `id` may be absent: the sync then publishes `_id` as the id (see projectPublic).
    required: (pub.required as string[]).filter((f) => f !== "id"),
    // Private fields beyond the listed ones are allowed: the allow-list, not the validator,
    // decides what leaves the machine.
    additionalProperties: true,
    properties: { ...PRIVATE_MODEL_FIELDS, ...pubProps },
  };
}

function licensesSchema(): Record<string, unknown> {
  const pub = toMongoJsonSchema(licenseSchema as JsonSchema);
  return {
    bsonType: "object",
    required: pub.required,
    // A licence is public as a whole, so nothing beyond the public fields (and `_id`) is stored.
    additionalProperties: false,
    properties: { _id: objectId, ...(pub.properties as Record<string, unknown>) },
  };
}

const inventoriesSchema = {
  bsonType: "object",
  required: ["host", "modelId", "path", "checkedAt"],
  additionalProperties: false,
  properties: {
    _id: objectId,
    host: { bsonType: "string", minLength: 1, maxLength: 253 },
    modelId: { bsonType: "string", pattern: publicModelSchema.properties.id.pattern },
    path: { bsonType: "string", minLength: 1, maxLength: 4096 },
    sizeBytes: { bsonType: ["int", "long", "double"], multipleOf: 1, minimum: 0 },
    sha256: { bsonType: "string", pattern: publicModelSchema.properties.sha256.pattern },
    checkedAt: date,
  },
};

/** Event kinds: lower-case dotted words, e.g. `backup.succeeded`, `model.updated`. */
export const EVENT_KIND_PATTERN = "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$";

const eventsSchema = {
  bsonType: "object",
  required: ["at", "kind"],
  additionalProperties: false,
  properties: {
    _id: objectId,
    at: date,
    kind: { bsonType: "string", maxLength: 64, pattern: EVENT_KIND_PATTERN },
    subject: { bsonType: "string", maxLength: 256 },
    message: { bsonType: "string", maxLength: 4000 },
    details: { bsonType: "object" },
  },
};

/**
 * Every product collection, in the order `db init` applies them. Pure: a fresh array on each call.
 */
export function productCollections(): CollectionDefinition[] {
  return [
    {
      name: "models",
      description: "the model catalogue: public fields (from the public metadata schema) plus private ones",
      jsonSchema: modelsSchema(),
      indexes: [
        { name: "id_unique", key: { id: 1 }, unique: true, partialFilterExpression: { id: { $exists: true } } },
        { name: "updatedAt_1", key: { updatedAt: 1 } },
      ],
    },
    {
      name: "inventories",
      description: "where each model's files are: one document per host and path",
      jsonSchema: inventoriesSchema,
      indexes: [
        { name: "host_path_unique", key: { host: 1, path: 1 }, unique: true },
        { name: "modelId_1", key: { modelId: 1 } },
      ],
    },
    {
      name: "licenses",
      description: "licence manifest entries (public as a whole, from the public licence schema)",
      jsonSchema: licensesSchema(),
      indexes: [{ name: "id_unique", key: { id: 1 }, unique: true }],
    },
    {
      name: "events",
      description: "an append-only log of what happened (backups, syncs, catalogue changes)",
      jsonSchema: eventsSchema,
      indexes: [{ name: "at_-1", key: { at: -1 } }, { name: "kind_at", key: { kind: 1, at: -1 } }],
    },
  ];
}
