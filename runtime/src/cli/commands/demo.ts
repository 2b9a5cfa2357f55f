import { access } from "node:fs/promises";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { COMPRESSIONS, stockRestorePipe, type Compression } from "../../compression/index.js";
import { ConfigError } from "../../errors.js";
import { ageRecipientOf, generateAgeIdentity, parseAgeIdentities, writeIdentityFile } from "../../crypto/index.js";
import { generateDemoArchive } from "../../demo/dataset.js";
import { openDestination } from "../../destinations/open.js";
import { listBackups } from "../../manifest/store.js";
import { runBackupPipeline } from "../../pipeline/backup.js";
import { restoreToDirectory } from "../../pipeline/restore.js";
import { verifyBackup } from "../../pipeline/verify.js";
import type { CliApp } from "../app.js";
import { formatBytes } from "../progress.js";
import { table } from "./list.js";

/** Parses a size such as 64MiB, 1GiB, 500MB or 1048576. */
export function parseSize(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kib|kb|mib|mb|gib|gb)?$/i.exec(text.trim());
  if (!m) throw new ConfigError(field, `"${text}" is not a size; use e.g. 64MiB or 1GiB`);
  const unit = (m[2] ?? "b").toLowerCase();
  const mult = { b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 }[unit as "b"];
  return Math.round(Number(m[1]) * mult);
}

/**
 * `cloudsync demo`: the whole job on an embedded data set, no MongoDB and no cloud account needed —
 * generate a realistic archive, back it up encrypted to ./backups, list, verify, restore.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("demo")
    .description("Run the main job on generated data: back up encrypted to ./backups, list, verify, restore to a mongodump directory")
    .option("--size <bytes>", "size of the generated data set (e.g. 32MiB, 1GiB)", "32MiB")
    .option("--dir <path>", "working directory (backups/, restored/ and the demo identity go here)", ".")
    .option("--compress <gzip|zstd|none>", "compression of the demo backup", "gzip")
    .action(
      app.action(async (ctx) => {
        const size = parseSize(ctx.opts.size as string, "--size");
        if (size < 1024) throw new ConfigError("--size", "must be at least 1KiB");
        const compression = ctx.opts.compress as Compression;
        if (!COMPRESSIONS.includes(compression)) throw new ConfigError("--compress", `must be gzip, zstd or none, got "${String(compression)}"`);
        const root = resolve(ctx.opts.dir as string);
        const identityPath = join(root, ".cloudsync", "demo-identity.txt");
        let identity;
        try {
          await access(identityPath);
          identity = parseAgeIdentities(await readFile(identityPath, "utf8"), identityPath)[0]!;
        } catch {
          const made = generateAgeIdentity();
          const { mkdir } = await import("node:fs/promises");
          await mkdir(join(root, ".cloudsync"), { recursive: true, mode: 0o700 });
          await writeIdentityFile(identityPath, made.identity, made.recipient);
          identity = made.identity;
          ctx.out.info(`created demo identity ${identityPath} (mode 0600); its recipient is ${made.recipient}`);
        }
        const recipient = ageRecipientOf(identity);
        const dest = openDestination(join(root, "backups"));

        ctx.out.info(`1/4 backing up ${formatBytes(size)} of generated models, inventories, licences and events to ${dest.url}`);
        const progress = ctx.progress("backup");
        progress.update({ total: size });
        const { createAgeEncryptStream, recipientFingerprint } = await import("../../crypto/index.js");
        const backup = await runBackupPipeline({
          source: generateDemoArchive({ targetBytes: size, seed: 42 }),
          sourceInfo: { kind: "demo", description: `generated demo data set, ${formatBytes(size)}` },
          destination: dest,
          compression: compression === "none" ? { algorithm: "none" } : { algorithm: compression, level: 1 },
          encryption: { manifest: { scheme: "age-x25519", recipients: [recipientFingerprint(recipient)] }, create: () => createAgeEncryptStream({ recipients: [recipient] }) },
          signal: ctx.signal,
          onProgress: (n) => progress.update({ bytes: n }),
        }).finally(() => progress.done());
        const id = backup.manifest.id;
        ctx.out.info(`    ${id}: ${backup.manifest.totals.documents.toLocaleString("en-US")} documents → ${backup.manifest.object.key} (${formatBytes(backup.manifest.object.size)})`);

        ctx.out.info(`2/4 listing complete backups`);
        const entries = await listBackups(dest, { withVerifications: true });
        ctx.out.info(table(["ID", "SIZE", "DOCS"], entries.slice(0, 5).map((e) => [e.manifest.id, formatBytes(e.manifest.object.size), String(e.manifest.totals.documents)])).replace(/^/gm, "    "));

        ctx.out.info(`3/4 verifying ${id}: SHA-256, decryption, every document and CRC`);
        const keys = { ageIdentities: [identity] };
        const verified = await verifyBackup(dest, id, keys, { signal: ctx.signal });

        const restoreDir = join(root, "restored", id);
        ctx.out.info(`4/4 restoring ${id} to ${restoreDir} (mongodump directory layout)`);
        const restored = await restoreToDirectory(dest, id, restoreDir, keys, { signal: ctx.signal });
        ctx.out.result(
          { id, destination: dest.url, object: backup.manifest.object, identityFile: identityPath, verified: verified.record.ok, restoredTo: restoreDir, namespaces: restored.checks },
          () =>
            [
              table(["NAMESPACE", "EXPECTED", "RESTORED", "OK"], restored.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.ok ? "yes" : "NO"])),
              "",
              `done. Restore it yourself with stock tools:`,
              `  age -d -i ${identityPath} ${join(dest.url, backup.manifest.object.key)} | ${stockRestorePipe(compression)}`,
              `or with cloudsync: cloudsync restore latest --from ${dest.url} --to dir://./somewhere -i ${identityPath}`,
            ].join("\n"),
        );
      }),
    );
}
