import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/src/config/config.js";
import { ConfigError } from "../../runtime/src/errors.js";

const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("gives the documented defaults with an empty environment", () => {
    const c = loadConfig({ env: {}, configFile: undefined });
    expect(c.destination).toBe("./backups");
    expect(c.compression).toBe("gzip");
    expect(c.gzipLevel).toBe(1);
    expect(c.recipients).toEqual([]);
    expect(c.allowUnencrypted).toBe(false);
    expect(c.retention.keepWithin).toBe("7d");
    expect(c.cloudSync.enabled).toBe(false);
    expect(c.cloudSync.provider).toBe("none");
    expect(c.mongodbUri.reveal()).toBe("mongodb://127.0.0.1:27017");
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.s3)).toBe(true);
  });

  it("layers defaults < file < environment < flags", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ destination: "/from/file", gzipLevel: 3, compression: "none" }));
    const c = loadConfig({ configFile: file, env: { CLOUDSYNC_GZIP_LEVEL: "5", CLOUDSYNC_DESTINATION: "/from/env" }, flags: { destination: "/from/flag" } });
    expect(c.destination).toBe("/from/flag");
    expect(c.gzipLevel).toBe(5);
    expect(c.compression).toBe("none");
  });

  it("names the flag, the variable or the file key that is wrong", () => {
    expect(configError(() => loadConfig({ env: {}, flags: { gzipLevel: "12" }, flagNames: { gzipLevel: "--gzip-level" } })).field).toBe("--gzip-level");
    const e = configError(() => loadConfig({ env: { CLOUDSYNC_COMPRESSION: "lz4" } }));
    expect(e.field).toBe("CLOUDSYNC_COMPRESSION");
    expect(e.message).toBe('CLOUDSYNC_COMPRESSION: must be one of gzip, zstd, none, got "lz4"');
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ destinaton: "/typo" }));
    expect(configError(() => loadConfig({ configFile: file, env: {} })).field).toBe(`${file}: destinaton`);
  });

  it("reports every problem in one message", () => {
    const e = configError(() => loadConfig({ env: { CLOUDSYNC_GZIP_LEVEL: "0", CLOUDSYNC_KEEP_WITHIN: "7 days", CLOUD_SYNC_PROVIDER: "dropbox" } }));
    expect(e.message).toContain("CLOUDSYNC_GZIP_LEVEL: must be a whole number from 1 to 9");
    expect(e.message).toContain('CLOUDSYNC_KEEP_WITHIN: invalid duration "7 days"; use whole numbers with the units s, m (minutes)');
    expect(e.message).toContain('CLOUD_SYNC_PROVIDER: must be one of none, jeffreysanford, s3, backblaze, gcs, got "dropbox"');
  });

  it("validates age recipients and explains how to make one", () => {
    expect(loadConfig({ env: { CLOUDSYNC_RECIPIENTS: `${RECIPIENT}, ${RECIPIENT}` } }).recipients).toEqual([RECIPIENT, RECIPIENT]);
    const e = configError(() => loadConfig({ env: {}, flags: { recipients: ["age1nope"] }, flagNames: { recipients: "--recipient" } }));
    expect(e.message).toBe('--recipient: "age1nope" is not an age X25519 recipient (age1 followed by 58 bech32 characters); create one with `cloudsync keys new`');
  });

  it("requires endpoint and key when metadata sync to jeffreysanford is enabled", () => {
    const e = configError(() => loadConfig({ env: { CLOUD_SYNC_ENABLED: "true", CLOUD_SYNC_PROVIDER: "jeffreysanford" } }));
    expect(e.message).toContain("CLOUD_SYNC_ENDPOINT: is required when the provider is jeffreysanford");
    expect(e.message).toContain("CLOUD_SYNC_API_KEY: is required when the provider is jeffreysanford");
    expect(loadConfig({ env: { CLOUD_SYNC_ENABLED: "false", CLOUD_SYNC_PROVIDER: "jeffreysanford" } }).cloudSync.enabled).toBe(false);
  });

  it("keeps secrets out of printing, JSON and inspection", () => {
    const c = loadConfig({ env: { MONGODB_URI: "mongodb://admin:hunter2hunter2@db:27017", AWS_SECRET_ACCESS_KEY: "s3cr3tkeyvalue", CLOUD_SYNC_API_KEY: "apikeyvalue1" } });
    const shown = [JSON.stringify(c), inspect(c, { depth: 10 }), String(c.mongodbUri)].join("\n");
    for (const secret of ["hunter2hunter2", "s3cr3tkeyvalue", "apikeyvalue1"]) expect(shown).not.toContain(secret);
    expect(c.mongodbUri.reveal()).toBe("mongodb://admin:hunter2hunter2@db:27017");
  });

  it("rejects a config file that is not JSON, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, "{ destination: ");
    const e = configError(() => loadConfig({ configFile: file, env: {} }));
    expect(e.field).toBe("--config");
    expect(e.message).toMatch(new RegExp(`^--config: ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not valid JSON`));
  });
});
