// db init against a server: validators are applied and enforced, a second run changes nothing,
// a new level is applied with collMod. jongodb has no listCollections/create/collMod, so there
// the command must fail with a message saying so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient, MongoServerError } from "mongodb";
import { RemoteError } from "../../runtime/src/errors.js";
import { projectPublic } from "../../runtime/src/metadata/public-schema.js";
import { initDatabase } from "../../runtime/src/schema/init.js";
import { Secret } from "../../runtime/src/secret.js";
import { isJongodb, mongoSkipReason, mongoTestUri, needsRealMongod } from "../support/mongo-service.js";
import { testClient, uniqueDb } from "../mongo/helpers.js";

const real = needsRealMongod("create/collMod with validators");
if (real.skip) console.warn(`db init on a server: ${real.message}`);
const none = mongoSkipReason();

describe.skipIf(none !== undefined || !isJongodb())(`db init on jongodb${none ? ` (skipped: ${none})` : ""}`, () => {
  it("fails with RemoteError saying listCollections is missing", async () => {
    const db = uniqueDb("dbinit");
    await expect(initDatabase({ uri: new Secret(mongoTestUri() as string), database: db })).rejects.toThrow(
      new RemoteError(`mongodb db init ${db}.models`, "the server has no listCollections, so validators cannot be read or applied; db init needs MongoDB (mongod or Atlas)"),
    );
  });
});

describe.skipIf(real.skip)(`db init on a real mongod${real.skip ? ` (${real.message})` : ""}`, () => {
  const db = uniqueDb("dbinit");
  let client: MongoClient;

  beforeAll(async () => {
    client = await testClient(mongoTestUri() as string);
  });
  afterAll(async () => {
    await client?.db(db).dropDatabase().catch(() => undefined);
    await client?.close();
  });

  it("dry run reports creates and writes nothing", async () => {
    const report = await initDatabase({ uri: new Secret(""), client, database: db, dryRun: true });
    expect(report.actions.map((a) => a.action)).toEqual(["create", "create", "create", "create"]);
    expect(await client.db(db).listCollections().toArray()).toEqual([]);
  });

  it("creates every collection, then a second run changes nothing", async () => {
    const first = await initDatabase({ uri: new Secret(""), client, database: db });
    expect(first.actions.map((a) => [a.collection, a.action])).toEqual([
      ["models", "create"],
      ["inventories", "create"],
      ["licenses", "create"],
      ["events", "create"],
    ]);
    const second = await initDatabase({ uri: new Secret(""), client, database: db });
    expect(second.actions.map((a) => a.action)).toEqual(["unchanged", "unchanged", "unchanged", "unchanged"]);
    const indexes = (await client.db(db).collection("models").listIndexes().toArray()).map((i) => i.name as string).sort();
    expect(indexes).toEqual(["_id_", "id_unique", "updatedAt_1"]);
  });

  it("enforces the validators: a public model with private fields is accepted, a wrong type refused", async () => {
    const models = client.db(db).collection("models");
    const doc = { id: "llama-3-8b", name: "Llama 3 8B", parameters: 8e9, updatedAt: new Date("2026-01-02T03:04:05Z"), tags: ["chat"], localPath: "/srv/models/llama" };
    await models.insertOne(doc);
    expect(projectPublic((await models.findOne({ id: "llama-3-8b" }))!)).toEqual({ id: "llama-3-8b", name: "Llama 3 8B", parameters: 8e9, tags: ["chat"], updatedAt: "2026-01-02T03:04:05.000Z" });
    const refused = await models.insertOne({ id: "bad", name: 7, updatedAt: new Date() }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(MongoServerError);
    expect((refused as MongoServerError).code).toBe(121);
    const licences = client.db(db).collection("licenses");
    const extra = await licences.insertOne({ id: "MIT", name: "MIT License", secret: "x" }).catch((err: unknown) => err);
    expect((extra as MongoServerError).code).toBe(121);
  });

  it("applies a new level and action with collMod", async () => {
    const report = await initDatabase({ uri: new Secret(""), client, database: db, validationLevel: "moderate", validationAction: "warn" });
    expect(report.actions.map((a) => a.action)).toEqual(["collMod", "collMod", "collMod", "collMod"]);
    const [info] = await client.db(db).listCollections({ name: "events" }).toArray();
    expect((info as { options: Record<string, unknown> }).options.validationLevel).toBe("moderate");
    expect((info as { options: Record<string, unknown> }).options.validationAction).toBe("warn");
  });
});
