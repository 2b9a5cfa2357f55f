import path from "node:path";
import { describe, expect, it } from "vitest";
import { openDestination } from "../../runtime/src/destinations/open.js";
import { NotFoundError } from "../../runtime/src/errors.js";
import { tempDir } from "../support/paths.js";
import { readAll } from "../support/streams.js";
import { pieces } from "./helpers.js";
import { ConfigError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";

describe("openDestination", () => {
  it("opens plain and file:// paths as local directories", () => {
    expect(openDestination("/srv/backups").url).toBe("/srv/backups");
    expect(openDestination("backups").url).toBe(path.resolve("backups"));
    expect(openDestination("./a/../b").url).toBe(path.resolve("b"));
    expect(openDestination("file:///srv/backups").url).toBe("/srv/backups");
    expect(openDestination("file:///srv/with%20space").url).toBe("/srv/with space");
  });

  it("opens s3://bucket/prefix with the given settings and no credentials in the url", () => {
    const secret = "secret-value-1234";
    const dest = openDestination("s3://my-bucket/team/db", { endpoint: "http://127.0.0.1:9000", accessKeyId: "AKIA", secretAccessKey: new Secret(secret), region: undefined });
    expect(dest.url).toBe("s3://my-bucket/team/db/");
    expect(openDestination("s3://my-bucket").url).toBe("s3://my-bucket/");
    expect(openDestination("s3://my-bucket/").url).toBe("s3://my-bucket/");
    expect(JSON.stringify(dest)).not.toContain(secret);
  });

  it("opens azblob://container/prefix and gs://bucket/prefix with the given settings and no credentials in the url", () => {
    const key = "account-key-value-1234";
    const az = openDestination("azblob://backups/team/db", {}, { azure: { account: "myaccount", accountKey: new Secret(key), connectionString: undefined } });
    expect(az.url).toBe("azblob://backups/team/db/");
    expect(JSON.stringify(az)).not.toContain(key);
    expect(() => openDestination("azblob://backups")).toThrow(
      "azure: no credentials; set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN",
    );
    expect(openDestination("gs://my-bucket/team/db", {}, { gcs: { keyFile: "/etc/key.json" } }).url).toBe("gs://my-bucket/team/db/");
    expect(openDestination("gs://my-bucket").url).toBe("gs://my-bucket/");
  });

  it("refuses other schemes, empty specs and bad buckets with ConfigError on destination or bucket", () => {
    const hint = "use a path, file:///path, s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix";
    expect(() => openDestination("ftp://host/x")).toThrow(`destination: unknown scheme "ftp://"; ${hint}`);
    expect(() => openDestination("azblob://")).toThrow(`destination: "azblob://" names no container; ${hint}`);
    expect(() => openDestination("gs:///x")).toThrow(`destination: "gs:///x" names no bucket; ${hint}`);
    expect(() => openDestination("")).toThrow(`destination: is empty; ${hint}`);
    expect(() => openDestination("s3://")).toThrow(`destination: "s3://" names no bucket; ${hint}`);
    expect(() => openDestination("file://host/x")).toThrow(ConfigError);
    const err = (() => {
      try {
        openDestination("s3://Bad_Bucket/x");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe("bucket");
  });

  it("composes the wrappers it is given around the destination it opens: progress counts each put's body, logging times each operation", async () => {
    const tmp = tempDir("open-wrapped");
    try {
      const totals: Array<[string, number]> = [];
      const lines: string[] = [];
      const dest = openDestination(`file://${tmp.dir}`, {}, {}, { onPutBytes: (key, total) => totals.push([key, total]), log: (l) => lines.push(l) });
      expect(dest.url).toBe(tmp.dir);
      await dest.put("data/a", pieces(Buffer.alloc(250, 1), 100));
      expect((await readAll(await dest.get("data/a"))).length).toBe(250);
      await expect(dest.head("data/missing")).rejects.toBeInstanceOf(NotFoundError);
      expect(totals).toEqual([["data/a", 100], ["data/a", 200], ["data/a", 250]]);
      expect(lines.map((l) => l.replace(/\d+ ms/, "N ms"))).toEqual([`put ${tmp.dir} data/a: ok in N ms`, `get ${tmp.dir} data/a: ok in N ms`, `head ${tmp.dir} data/missing: NotFoundError after N ms`]);
      // A killed write's leftovers stay visible through the wrappers, for prune.
      expect(dest.temporaryFiles).toBeDefined();
    } finally {
      tmp.cleanup();
    }
  });
});
