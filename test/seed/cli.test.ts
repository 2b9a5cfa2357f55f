// `cloudsync seed …` and `cloudsync db …` run in this process through their command modules
// (as the CLI registers them): exact output, exit codes, and the destination round trip.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient } from "mongodb";
import { createCliApp } from "../../runtime/src/cli/app.js";
import { register as registerDb } from "../../runtime/src/cli/commands/db.js";
import { register as registerSeed } from "../../runtime/src/cli/commands/seed.js";
import { generateAgeIdentity } from "../../runtime/src/crypto/index.js";
import { has, onEachServer } from "../support/servers.js";
import { testClient, uniqueDb } from "../mongo/helpers.js";

/** Runs `cloudsync <args>` in-process; env is the whole environment the command sees. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (add: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (add(c.toString()), cb()) });
  const app = createCliApp({ stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env });
  const program = new Command("cloudsync").option("--json").option("-q, --quiet").option("--debug").option("-c, --config <file>").exitOverride();
  registerSeed(program, app);
  registerDb(program, app);
  await program.parseAsync(args, { from: "user" });
  return { code: app.exitCode, stdout, stderr };
}

describe("cloudsync db and seed without a server", () => {
  it("db schema prints one collection's validator", async () => {
    const r = await cli(["--json", "db", "schema", "--collection", "events"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { $jsonSchema: { required: string[] } }>;
    expect(Object.keys(out)).toEqual(["events"]);
    expect(out.events?.$jsonSchema.required).toEqual(["at", "kind"]);
  });

  it("rejects an unknown validation level with exit code 2 naming the flag", async () => {
    const r = await cli(["db", "init", "--validation-level", "off", "--uri", "mongodb://127.0.0.1:1"]);
    expect(r).toEqual({ code: 2, stdout: "", stderr: 'cloudsync: --validation-level: "off" is not one of strict, moderate\n' });
  });

  it("seed export without a target is a usage error", async () => {
    const r = await cli(["seed", "export", "--uri", "mongodb://127.0.0.1:1"]);
    expect(r).toEqual({ code: 2, stdout: "", stderr: "cloudsync: seed export needs --to <dir>, --to-destination <destination>, or both\n" });
  });
});

onEachServer("cloudsync seed with a server", [], (server) => {
  const uri = server.uri;
  const db = uniqueDb("seedcli");
  let client: MongoClient;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "cloudsync-seedcli-"));
    client = await testClient(uri);
    await client.db(db).collection<{ _id: string; id: string; name: string }>("licenses").insertMany([
      { _id: "b", id: "MIT", name: "MIT License" },
      { _id: "a", id: "Apache-2.0", name: "Apache License 2.0" },
    ]);
  });
  afterAll(async () => {
    if (has(server, "catalog")) await client?.db(db).dropDatabase().catch(() => undefined);
    await client?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("exports, verifies and dry-runs an import of a directory", async () => {
    const dir = path.join(work, "set");
    const exp = await cli(["seed", "export", "--uri", uri, "--include", `${db}.licenses`, "--to", dir]);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toBe(`seed set written to ${dir}\n  ${db}.licenses  2 documents, 1 index\n`);
    const ver = await cli(["seed", "verify", "--from", dir]);
    expect(ver).toEqual({ code: 0, stdout: `seed set ${dir} verified: 1 collection, every file matches SHA256SUMS\n`, stderr: "" });
    const dry = await cli(["seed", "import", "--from", dir, "--dry-run", "--uri", "mongodb://127.0.0.1:1"]);
    expect(dry.stdout).toBe(`dry run: checksums verified, nothing written\n  ${db}.licenses  2 documents, indexes: none\n`);
    const again = await cli(["--json", "seed", "import", "--from", dir, "--uri", uri]);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { collections: unknown[] }).collections).toEqual([{ ns: `${db}.licenses`, documents: 2, inserted: 0, updated: 0, unchanged: 2, indexes: [] }]);
  });

  it("a changed file fails import with exit code 4 naming it", async () => {
    const dir = path.join(work, "set");
    await writeFile(path.join(dir, "seed.json"), "{}\n");
    const r = await cli(["seed", "import", "--from", dir, "--uri", uri]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^cloudsync: seed seed\.json: SHA-256 [0-9a-f]{64} does not match [0-9a-f]{64} in SHA256SUMS; the file was changed or damaged\n$/);
  });

  it("stores an encrypted set in a destination, lists it and imports it back", async () => {
    const key = generateAgeIdentity();
    const identityFile = path.join(work, "identity.txt");
    await writeFile(identityFile, `${key.identity.reveal()}\n`, { mode: 0o600 });
    const dest = path.join(work, "dest");
    const exp = await cli(["--json", "seed", "export", "--uri", uri, "--include", `${db}.licenses`, "--to-destination", dest, "--id", "first", "-r", key.recipient]);
    expect(exp.code).toBe(0);
    const pushed = JSON.parse(exp.stdout) as { id: string; dir: null; objects: Array<{ key: string }>; encryption: { scheme: string } };
    expect([pushed.id, pushed.dir, pushed.encryption.scheme]).toEqual(["first", null, "age-x25519"]);
    expect(pushed.objects.map((o) => o.key)).toEqual([`seeds/first/data/${db}/licenses.ejson.age`, `seeds/first/data/${db}/licenses.metadata.json.age`, "seeds/first/seed.json.age", "seeds/first/SHA256SUMS.age"]);
    expect(await cli(["seed", "list", "--from-destination", dest])).toEqual({ code: 0, stdout: "first\n", stderr: "" });
    const imp = await cli(["--json", "seed", "import", "--from-destination", dest, "--id", "first", "-i", identityFile, "--uri", uri]);
    expect(imp.code).toBe(0);
    expect((JSON.parse(imp.stdout) as { collections: unknown[] }).collections).toEqual([{ ns: `${db}.licenses`, documents: 2, inserted: 0, updated: 0, unchanged: 2, indexes: [] }]);
  });

  it.skipIf(server.name !== "jongodb")(`db init on jongodb exits 5 saying what the server lacks${server.name === "jongodb" ? "" : " (skipped: jongodb only; FerretDB is covered in test/cli/mongo-cli.test.ts, a real mongod in test/schema)"}`, async () => {
    const r = await cli(["db", "init", "--uri", uri, "--database", db]);
    expect(r).toEqual({ code: 5, stdout: "", stderr: `cloudsync: mongodb db init ${db}.models: the server has no listCollections, so validators cannot be read or applied; db init needs MongoDB (mongod or Atlas)\n` });
  });

  it("refuses to push a set without an encryption key", async () => {
    const r = await cli(["seed", "export", "--uri", uri, "--include", `${db}.licenses`, "--to-destination", path.join(work, "dest3")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cloudsync: --recipient: no encryption key given/);
  });
});
