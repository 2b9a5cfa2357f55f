/**
 * `db init`: creates the product collections with their validators, or brings existing ones up to
 * date with collMod, then creates their indexes. Idempotent: a second run reports every
 * collection `unchanged`.
 */
import { BSON, type Document, type MongoClient } from "mongodb";
import { ConfigError, RemoteError } from "../errors.js";
import { connectMongo, cursorCommand, isCommandNotFound, mongoError, serverCode } from "../mongo/connect.js";
import type { Secret } from "../secret.js";
import { DEFAULT_DATABASE, productCollections, type CollectionDefinition } from "./collections.js";

/** MongoDB validationLevel values `db init` accepts. */
export const VALIDATION_LEVELS = ["strict", "moderate"] as const;
/** MongoDB validationAction values `db init` accepts. */
export const VALIDATION_ACTIONS = ["error", "warn"] as const;

export type ValidationLevel = (typeof VALIDATION_LEVELS)[number];
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];

/** Options of `initDatabase`. */
export interface DbInitOptions {
  readonly uri: Secret;
  /** Default `models`. */
  readonly database?: string;
  /** Default `strict`. */
  readonly validationLevel?: ValidationLevel;
  /** Default `error`. */
  readonly validationAction?: ValidationAction;
  /** Read the current state and report what would change, writing nothing. */
  readonly dryRun?: boolean;
  /** Collections to apply (default all of `productCollections()`). */
  readonly collections?: readonly CollectionDefinition[];
  /** An already connected client; `uri` is then only used in messages. */
  readonly client?: MongoClient;
}

/** What happened (or would happen) to one collection. */
export interface DbInitAction {
  readonly collection: string;
  /** `create`: it did not exist; `collMod`: its validator or settings differed; `unchanged`. */
  readonly action: "create" | "collMod" | "unchanged";
  /** Index names sent to createIndexes (an identical existing index is kept as it is). */
  readonly indexes: string[];
}

/** The result of `initDatabase`. */
export interface DbInitReport {
  readonly database: string;
  readonly validationLevel: ValidationLevel;
  readonly validationAction: ValidationAction;
  readonly dryRun: boolean;
  readonly actions: DbInitAction[];
}

/** Checks a `--validation-level` value; throws ConfigError naming the flag otherwise. */
export function parseValidationLevel(value: string | undefined): ValidationLevel {
  if (value === undefined) return "strict";
  if ((VALIDATION_LEVELS as readonly string[]).includes(value)) return value as ValidationLevel;
  throw new ConfigError("--validation-level", `"${value}" is not one of ${VALIDATION_LEVELS.join(", ")}`);
}

/** Checks a `--validation-action` value; throws ConfigError naming the flag otherwise. */
export function parseValidationAction(value: string | undefined): ValidationAction {
  if (value === undefined) return "error";
  if ((VALIDATION_ACTIONS as readonly string[]).includes(value)) return value as ValidationAction;
  throw new ConfigError("--validation-action", `"${value}" is not one of ${VALIDATION_ACTIONS.join(", ")}`);
}

/**
 * The `create` / `collMod` settings for one collection: `{ validator: { $jsonSchema }, validationLevel,
 * validationAction }`. Pure.
 */
export function validatorOptions(def: CollectionDefinition, level: ValidationLevel, action: ValidationAction): Document {
  return { validator: { $jsonSchema: def.jsonSchema }, validationLevel: level, validationAction: action };
}

/**
 * Decides what `db init` does to a collection given its current listCollections `options`
 * (undefined when it does not exist). Pure. Options are compared as canonical Extended JSON with
 * numbers relaxed, since the server may store a number the client sent as a double as an int.
 */
export function planCollection(current: Document | undefined, wanted: Document): DbInitAction["action"] {
  if (current === undefined) return "create";
  const norm = (d: Document) => BSON.EJSON.stringify({ validator: d.validator ?? null, validationLevel: d.validationLevel ?? "strict", validationAction: d.validationAction ?? "error" }, { relaxed: true });
  return norm(current) === norm(wanted) ? "unchanged" : "collMod";
}

/**
 * Applies validators and indexes to the product collections in `database`. Throws RemoteError
 * (`mongodb db init <coll>`) when the server refuses; a server without listCollections or
 * create/collMod (some MongoDB-compatible servers) fails with a message saying so. Idempotent.
 */
export async function initDatabase(opts: DbInitOptions): Promise<DbInitReport> {
  const database = opts.database ?? DEFAULT_DATABASE;
  const level = opts.validationLevel ?? "strict";
  const action = opts.validationAction ?? "error";
  const dryRun = Boolean(opts.dryRun);
  const client = opts.client ?? (await connectMongo(opts.uri));
  try {
    const db = client.db(database);
    const actions: DbInitAction[] = [];
    for (const def of opts.collections ?? productCollections()) {
      const op = `mongodb db init ${database}.${def.name}`;
      const wanted = validatorOptions(def, level, action);
      let infos: Document[];
      try {
        infos = await cursorCommand(db, { listCollections: 1, filter: { name: def.name } });
      } catch (err) {
        if (isCommandNotFound(err)) throw new RemoteError(op, "the server has no listCollections, so validators cannot be read or applied; db init needs MongoDB (mongod or Atlas)", { cause: err });
        throw mongoError(err, op, opts.uri);
      }
      const current = infos[0] ? ((infos[0].options as Document | undefined) ?? {}) : undefined;
      const what = planCollection(current, wanted);
      if (!dryRun) {
        try {
          if (what === "create") await db.command({ create: def.name, ...wanted });
          if (what === "collMod") await db.command({ collMod: def.name, ...wanted });
        } catch (err) {
          // FerretDB answers a create or collMod with a validator NotImplemented (238).
          if (serverCode(err) === 238 || isCommandNotFound(err)) {
            throw new RemoteError(op, `the server does not implement ${what} with a validator, so validators cannot be applied; db init needs MongoDB (mongod or Atlas)`, { cause: err });
          }
          throw mongoError(err, op, opts.uri);
        }
        try {
          if (def.indexes.length > 0) await db.collection(def.name).createIndexes(def.indexes.map((ix) => ({ ...ix, key: { ...ix.key } })));
        } catch (err) {
          throw mongoError(err, op, opts.uri);
        }
      }
      actions.push({ collection: def.name, action: what, indexes: def.indexes.map((ix) => ix.name) });
    }
    return { database, validationLevel: level, validationAction: action, dryRun, actions };
  } finally {
    if (!opts.client) await client.close().catch(() => undefined);
  }
}
