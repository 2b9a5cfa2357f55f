// The implementation of `cloudsync demo`, imported by ./demo.ts only when the command runs, so that
// its dependencies load only then.
import { COMPRESSIONS, stockRestorePipe, type Compression } from "../../compression/index.js";
import { access, mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConfigError, IntegrityError } from "../../errors.js";
import { ageRecipientOf, createAgeEncryptStream, generateAgeIdentity, parseAgeIdentities, recipientFingerprint, writeIdentityFile } from "../../crypto/index.js";
import { DEMO_DATABASE } from "../../demo/collections.js";
import { generateDemoArchive } from "../../demo/dataset.js";
import { locateJongodb, startJongodb, type EmbeddedServer } from "../../demo/jongodb.js";
import { DEMO_NAMESPACES, loadDemoData } from "../../demo/load.js";
import type { Destination } from "../../destinations/destination.js";
import { openDestination } from "../../destinations/open.js";
import type { BackupManifest } from "../../manifest/manifest.js";
import { listBackups } from "../../manifest/store.js";
import { compareDescriptions, describeDatabase } from "../../mongo/compare.js";
import { connectMongo } from "../../mongo/connect.js";
import { createRenamer } from "../../mongo/namespaces.js";
import { restoreToMongo } from "../../mongo/restore.js";
import { runBackupPipeline } from "../../pipeline/backup.js";
import type { DecryptionKeys, EncryptionPlan } from "../../pipeline/encryption.js";
import { backupFromMongo } from "../../pipeline/mongo-backup.js";
import { openBackup, restoreToDirectory } from "../../pipeline/restore.js";
import { verifyBackup } from "../../pipeline/verify.js";
import { Secret } from "../../secret.js";
import type { CommandContext, Run } from "../app.js";
import type { DemoCommandOptions } from "./demo.js";
import { formatBytes } from "../progress.js";
import { table } from "./list.js";
import { parseSize } from "../../config/size.js";

/** Where the live demo restores to: a second database on the same server. */
const RESTORED_DATABASE = `${DEMO_DATABASE}_restored`;

/** One namespace of the demo's closing table: counts, and for the live path whether the content is identical. */
interface DemoCheck {
  readonly ns: string;
  readonly target: string;
  readonly expected: number;
  readonly restored: number;
  /** Live path: the restored collection holds the same documents and index specs as the source. */
  readonly sameContent?: boolean;
  readonly ok: boolean;
}

/** What a demo path hands to the shared closing steps. */
interface DemoRun {
  readonly backup: BackupManifest;
  readonly verified: boolean;
  readonly restoredTo: string;
  readonly checks: readonly DemoCheck[];
}

/** Runs `cloudsync demo`. */
export const run: Run<DemoCommandOptions> = async (ctx) => {
  const sizeOf = (fallback: string): number => {
    const size = parseSize(ctx.opts.size ?? fallback, "--size");
    if (size < 1024) throw new ConfigError("--size", "must be at least 1KiB");
    return size;
  };
  sizeOf("4MiB");
  const compression = COMPRESSIONS.find((c) => c === ctx.opts.compress);
  if (!compression) throw new ConfigError("--compress", `must be gzip, zstd or none, got "${ctx.opts.compress}"`);
  const root = resolve(ctx.opts.dir);
  const identityPath = join(root, ".cloudsync", "demo-identity.txt");
  const identity = await demoIdentity(ctx, root, identityPath);
  const recipient = ageRecipientOf(identity);
  const encryption: EncryptionPlan = { manifest: { scheme: "age-x25519", recipients: [recipientFingerprint(recipient)] }, create: () => createAgeEncryptStream({ recipients: [recipient] }) };
  const dest = openDestination(join(root, "backups"), {}, {}, ctx.destinationWrappers);
  const keys: DecryptionKeys = { ageIdentities: [identity] };

  const located = ctx.opts.archiveOnly ? { reason: "--archive-only given" } : locateJongodb(ctx.opts.jongodb);
  let fallback = "reason" in located ? located.reason : undefined;
  let server: EmbeddedServer | undefined;
  if ("bin" in located) {
    server = await startJongodb(located.bin).catch((err: unknown) => {
      fallback = (err as Error).message;
      return undefined;
    });
  }
  let run: DemoRun;
  if (server) {
    try {
      ctx.out.info(`started jongodb (pid ${server.pid}) at ${server.uri}, an embedded MongoDB-compatible server`);
      run = await liveDemo(ctx, server, { size: sizeOf("4MiB"), compression, dest, encryption, keys });
    } finally {
      await server.stop();
      ctx.out.info(`stopped jongodb (pid ${server.pid})`);
    }
  } else {
    ctx.out.info(`no embedded server: ${fallback}; running the archive demo instead (a generated mongodump archive, restored to a directory)`);
    run = await archiveDemo(ctx, { size: sizeOf("32MiB"), compression, dest, encryption, keys, root });
  }
  const id = run.backup.id;
  ctx.out.result(
    {
      mode: server ? "live" : "archive",
      ...(fallback === undefined ? {} : { fallbackReason: fallback }),
      ...(server ? { server: { kind: "jongodb", pid: server.pid, stopped: true } } : {}),
      id,
      destination: dest.url,
      object: run.backup.object,
      consistency: run.backup.consistency,
      identityFile: identityPath,
      verified: run.verified,
      restoredTo: run.restoredTo,
      namespaces: run.checks,
    },
    () =>
      [
        table(
          ["NAMESPACE", "TARGET", "EXPECTED", "RESTORED", ...(server ? ["SAME CONTENT"] : []), "OK"],
          run.checks.map((c) => [c.ns, c.target, String(c.expected), String(c.restored), ...(server ? [c.sameContent ? "yes" : "NO"] : []), c.ok ? "yes" : "NO"]),
        ),
        "",
        `done. Restore it yourself with stock tools:`,
        `  age -d -i ${identityPath} ${join(dest.url, run.backup.object.key)} | ${stockRestorePipe(compression)}`,
        `or with cloudsync: cloudsync restore latest --from ${dest.url} --to dir://./somewhere -i ${identityPath}`,
      ].join("\n"),
  );
  if (!run.checks.every((c) => c.ok)) throw new IntegrityError(`demo: the restored data differs from the source (${run.checks.filter((c) => !c.ok).map((c) => c.ns).join(", ")})`);
};

/** The demo identity in `path`, created (mode 0600) on first use. */
async function demoIdentity(ctx: CommandContext, root: string, path: string): Promise<Secret> {
  try {
    await access(path);
    return parseAgeIdentities(await readFile(path, "utf8"), path)[0]!;
  } catch {
    const made = generateAgeIdentity();
    await mkdir(join(root, ".cloudsync"), { recursive: true, mode: 0o700 });
    await writeIdentityFile(path, made.identity, made.recipient);
    ctx.out.info(`created demo identity ${path} (mode 0600); its recipient is ${made.recipient}`);
    return made.identity;
  }
}

interface DemoSetup {
  readonly size: number;
  readonly compression: Compression;
  readonly dest: Destination;
  readonly encryption: EncryptionPlan;
  readonly keys: DecryptionKeys;
}

/** Steps 2 and 3 of both paths: list the complete backups, verify the new one end to end. */
async function listAndVerify(ctx: CommandContext, setup: DemoSetup, id: string, step: (n: number) => string): Promise<boolean> {
  ctx.out.info(`${step(0)} listing complete backups`);
  const entries = await listBackups(setup.dest, { withVerifications: true });
  ctx.out.info(table(["ID", "SIZE", "DOCS"], entries.slice(0, 5).map((e) => [e.manifest.id, formatBytes(e.manifest.object.size), String(e.manifest.totals.documents)])).replace(/^/gm, "    "));
  ctx.out.info(`${step(1)} verifying ${id}: SHA-256, decryption, every document and CRC`);
  const verified = await verifyBackup(setup.dest, id, setup.keys, { signal: ctx.signal });
  return verified.record.ok;
}

/** The live path on a running server: load, `backup --uri`, list, verify, restore into a second database, compare. */
async function liveDemo(ctx: CommandContext, server: EmbeddedServer, setup: DemoSetup): Promise<DemoRun> {
  const uri = new Secret(server.uri);
  ctx.out.info(`1/5 loading ${formatBytes(setup.size)} of generated models, inventories, licences and events into ${DEMO_DATABASE} through the driver`);
  const client = await connectMongo(uri);
  const loading = ctx.progress("load");
  loading.update({ total: setup.size });
  const loaded = await loadDemoData(client, { targetBytes: setup.size, seed: 42, signal: ctx.signal, onBytes: (n) => loading.update({ bytes: n }) })
    .finally(() => loading.done())
    .finally(() => client.close().catch(() => undefined));
  for (const s of loaded.skippedIndexes) ctx.out.info(`    index not created: ${s}`);

  ctx.out.info(`2/5 backing up ${DEMO_NAMESPACES.join(", ")} from ${server.uri} to ${setup.dest.url} (cloudsync backup --uri … --include …)`);
  const progress = ctx.progress("backup");
  const result = await backupFromMongo({
    uri,
    include: DEMO_NAMESPACES,
    destination: setup.dest,
    compression: setup.compression === "none" ? { algorithm: "none" } : { algorithm: setup.compression, level: 1 },
    encryption: setup.encryption,
    signal: ctx.signal,
    onEstimate: (total) => total && progress.update({ total }),
    onBytes: (n) => progress.update({ bytes: n }),
  }).finally(() => progress.done());
  const backup = result.manifest;
  // jongodb has no listCollections: one note instead of a warning per collection.
  if (result.warnings.length > 0) ctx.out.info(`    note: ${result.warnings.length === DEMO_NAMESPACES.length && result.warnings.every((w) => w.includes("no listCollections")) ? "jongodb has no listCollections, so collection options and validators are not in this backup (a real mongod has them)" : result.warnings.join("; ")}`);
  ctx.out.info(`    ${backup.id}: ${backup.totals.documents.toLocaleString("en-US")} documents → ${backup.object.key} (${formatBytes(backup.object.size)}), consistency ${backup.consistency.mode}`);

  const verified = await listAndVerify(ctx, setup, backup.id, (n) => `${3 + n}/5`);

  const rename = [{ from: `${DEMO_DATABASE}.*`, to: `${RESTORED_DATABASE}.*` }];
  ctx.out.info(`5/5 restoring ${backup.id} into ${RESTORED_DATABASE} on the same server (cloudsync restore --to mongodb://… --rename ${rename[0]!.from}:${rename[0]!.to}) and comparing with ${DEMO_DATABASE}`);
  const opened = await openBackup(setup.dest, backup.id, setup.keys, { signal: ctx.signal });
  const report = await restoreToMongo(opened.events, {
    uri,
    rename,
    expected: new Map(backup.namespaces.map((n) => [n.ns, n.documents])),
    signal: ctx.signal,
  }).finally(() => opened.cleanup());
  const renamer = createRenamer(rename);
  const differences = compareDescriptions(await describeDatabase(uri, DEMO_NAMESPACES), await describeDatabase(uri, DEMO_NAMESPACES.map(renamer)), renamer);
  // The comparison reads every document twice and takes no signal: honour a Ctrl-C made meanwhile.
  ctx.signal.throwIfAborted();
  const checks = report.namespaces.map((n) => {
    const sameContent = !differences.some((d) => d.ns === n.target);
    return { ns: n.ns, target: n.target, expected: loaded.documents.get(n.ns) ?? n.expected, restored: n.restored, sameContent, ok: n.ok && sameContent && n.restored === loaded.documents.get(n.ns) };
  });
  return { backup, verified, restoredTo: `${RESTORED_DATABASE} on the embedded jongodb (stopped)`, checks };
}

/** The archive path: back up a generated mongodump archive, list, verify, restore to a directory. */
async function archiveDemo(ctx: CommandContext, setup: DemoSetup & { readonly root: string }): Promise<DemoRun> {
  ctx.out.info(`1/4 backing up ${formatBytes(setup.size)} of generated models, inventories, licences and events to ${setup.dest.url}`);
  const progress = ctx.progress("backup");
  progress.update({ total: setup.size });
  const result = await runBackupPipeline({
    source: generateDemoArchive({ targetBytes: setup.size, seed: 42 }),
    sourceInfo: { kind: "demo", description: `generated demo data set, ${formatBytes(setup.size)}` },
    destination: setup.dest,
    compression: setup.compression === "none" ? { algorithm: "none" } : { algorithm: setup.compression, level: 1 },
    encryption: setup.encryption,
    signal: ctx.signal,
    onProgress: (n) => progress.update({ bytes: n }),
  }).finally(() => progress.done());
  const backup = result.manifest;
  ctx.out.info(`    ${backup.id}: ${backup.totals.documents.toLocaleString("en-US")} documents → ${backup.object.key} (${formatBytes(backup.object.size)})`);

  const verified = await listAndVerify(ctx, setup, backup.id, (n) => `${2 + n}/4`);

  const restoreDir = join(setup.root, "restored", backup.id);
  ctx.out.info(`4/4 restoring ${backup.id} to ${restoreDir} (mongodump directory layout)`);
  const restored = await restoreToDirectory(setup.dest, backup.id, restoreDir, setup.keys, { signal: ctx.signal });
  return { backup, verified, restoredTo: restoreDir, checks: restored.checks.map((c) => ({ ns: c.ns, target: c.ns, expected: c.expected, restored: c.found, ok: c.ok })) };
}
