/**
 * The point-in-time restore drill behind `verify --restore-to <scratch> --to-time T` (issue 15
 * §4): the restore `restore --to-time` would do, into fresh scratch databases, then the checks
 * that can be made without knowing what the database held at T: every namespace of the base is
 * there, the replay handed over exactly the entries it planned and the applier refused none, and
 * the base restored with its manifest's counts and, when the destination holds a full verification
 * of the base, with the counts that verification read.
 */
import type { Destination } from "../destinations/destination.js";
import { compareTimes, formatTime } from "../manifest/manifest.js";
import { latestVerifications, type VerificationRecord } from "../manifest/store.js";
import { connectMongo } from "../mongo/connect.js";
import { dropScratchDatabases, newScratchPrefix } from "../mongo/drill.js";
import { splitNamespace } from "../mongo/namespaces.js";
import { OplogApplyError, type OplogApplyReport } from "../mongo/oplog-apply.js";
import type { RestoreReport } from "../mongo/restore.js";
import { InterruptedError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";
import type { DecryptionKeys } from "./encryption.js";
import { countReplay, restoreToTime, type PitrPlan } from "./pitr.js";

/** Options of `runPitrDrill`. */
export interface PitrDrillOptions {
  readonly scratchUri: Secret;
  /** Prefix of the scratch databases; default a new `cs_drill_<6 hex>_`. */
  readonly prefix?: string;
  /** Drop the scratch databases afterwards (default true); a failure to drop is a warning. */
  readonly cleanup?: boolean;
  /** Stops the drill; its scratch databases are dropped (unless `cleanup` is false) and it rejects with an InterruptedError. */
  readonly signal?: AbortSignal;
}

/** One check of the drill; `problem` says what was wrong, absent when `ok`. */
export interface PitrDrillCheck {
  readonly check: "namespaces" | "replay" | "base-counts";
  readonly ok: boolean;
  /** What was compared, in words. */
  readonly detail: string;
  readonly problem?: string;
}

/** The drill's outcome; `ok` only when every check passed. */
export interface PitrDrillReport {
  readonly prefix: string;
  readonly scratchDatabases: string[];
  /** Entries of the replay's window as planned (read from the slices before the restore). */
  readonly planned: number;
  /** Entries the restore handed to the applier; equal to `planned` when nothing was lost. */
  readonly handed: number;
  readonly restore?: RestoreReport;
  readonly replay?: OplogApplyReport;
  readonly checks: PitrDrillCheck[];
  readonly cleanedUp: boolean;
  readonly warnings: string[];
  readonly ok: boolean;
}

/**
 * Runs the point-in-time drill of `plan` into scratch databases `<prefix><db>` on `scratchUri`,
 * one per database of the base (the replay is limited to those databases, renamed the same way).
 * An entry the applier refuses is a failed `replay` check, not an error. Throws as
 * `restoreToTime` does for a damaged base or slice (IntegrityError), a wrong key or an unreachable
 * server; the scratch databases are dropped on every outcome unless `cleanup` is false.
 */
export async function runPitrDrill(dest: Destination, plan: PitrPlan, keys: DecryptionKeys, opts: PitrDrillOptions): Promise<PitrDrillReport> {
  const prefix = opts.prefix ?? newScratchPrefix();
  const sourceNamespaces = plan.base.namespaces.map((n) => n.ns).filter((ns) => !ns.startsWith("."));
  const dbs = [...new Set(sourceNamespaces.map((ns) => splitNamespace(ns).db))].sort();
  const scratchDatabases = dbs.map((db) => `${prefix}${db}`);
  const warnings: string[] = [];
  const cleanup = async (): Promise<boolean> => opts.cleanup !== false && (await dropScratchDatabases(opts.scratchUri, scratchDatabases, warnings));
  const signal = opts.signal ? { signal: opts.signal } : {};
  let result: Awaited<ReturnType<typeof restoreToTime>> | undefined;
  let refused: string | undefined;
  try {
    const planned = plan.baseEntries + (await countReplay(dest, plan, keys, opts.signal));
    try {
      result = await restoreToTime(dest, plan, keys, {
        uri: opts.scratchUri,
        include: dbs.map((db) => `${db.replace(/[\\*.]/g, "\\$&")}.*`),
        rename: [{ from: "*.*", to: `${prefix}*.*` }],
        ...signal,
      });
    } catch (err) {
      if (!(err instanceof OplogApplyError) || opts.signal?.aborted) throw err;
      refused = err.message;
    }
    opts.signal?.throwIfAborted();
    const checks: PitrDrillCheck[] = [];
    if (result) {
      checks.push(await namespacesCheck(opts.scratchUri, sourceNamespaces, prefix));
      checks.push(replayCheck(planned, result.entries, result.replay, plan));
      checks.push(await baseCountsCheck(dest, plan, result.restore));
    } else {
      checks.push({ check: "replay", ok: false, detail: `${planned} entries planned up to and including ${formatTime(plan.target)}`, problem: refused! });
    }
    opts.signal?.throwIfAborted();
    const cleanedUp = await cleanup();
    return {
      prefix,
      scratchDatabases,
      planned,
      handed: result?.entries ?? 0,
      ...(result ? { restore: result.restore, replay: result.replay } : {}),
      checks,
      cleanedUp,
      warnings,
      ok: checks.every((c) => c.ok) && (result?.ok ?? false),
    };
  } catch (err) {
    const dropped = await cleanup();
    if (!opts.signal?.aborted) throw err;
    const cleaned = dropped ? `scratch database(s) ${scratchDatabases.join(", ")} dropped` : opts.cleanup === false ? `scratch database(s) ${scratchDatabases.join(", ")} kept (--keep)` : warnings.join("; ");
    throw new InterruptedError(`point-in-time restore drill into ${redactUri(opts.scratchUri.reveal())} interrupted; ${cleaned}; nothing was recorded`, { cause: opts.signal.reason });
  }
}

/** Every namespace of the base is a collection of its scratch database. */
async function namespacesCheck(uri: Secret, namespaces: readonly string[], prefix: string): Promise<PitrDrillCheck> {
  const client = await connectMongo(uri);
  try {
    const missing: string[] = [];
    const byDb = new Map<string, Set<string>>();
    for (const ns of namespaces) {
      const { db, collection } = splitNamespace(ns);
      let names = byDb.get(db);
      if (!names) byDb.set(db, (names = new Set((await client.db(`${prefix}${db}`).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name))));
      if (!names.has(collection)) missing.push(ns);
    }
    const detail = `${namespaces.length} namespace(s) of the base looked up in the scratch databases`;
    return missing.length === 0 ? { check: "namespaces", ok: true, detail } : { check: "namespaces", ok: false, detail, problem: `missing after the restore and replay: ${missing.join(", ")} (dropped by the replay, or not restored)` };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The restore handed the applier every entry it planned, and the applier accounted for each. */
function replayCheck(planned: number, handed: number, r: OplogApplyReport, plan: PitrPlan): PitrDrillCheck {
  const detail = `${planned} entries planned up to and including ${formatTime(plan.target)} (${plan.baseEntries} of the base, ${planned - plan.baseEntries} from ${plan.slices.length} slice(s)); ${handed} replayed: ${r.applied} applied, ${r.noops} no-ops, ${r.notIncluded} of other databases, ${r.internal} internal, ${r.uncommitted} of uncommitted transactions; none refused`;
  if (handed !== planned) return { check: "replay", ok: false, detail, problem: `the restore replayed ${handed} entries of the window, the plan counted ${planned}` };
  if (r.last && compareTimes(r.last, plan.target) > 0) return { check: "replay", ok: false, detail, problem: `an entry after the target was applied (${formatTime(r.last)})` };
  return { check: "replay", ok: true, detail };
}

/**
 * The base's namespaces restored with the counts of its manifest, and with those its newest passed
 * full verification ("read" or "restore-drill") read, when the destination holds one.
 */
async function baseCountsCheck(dest: Destination, plan: PitrPlan, restore: RestoreReport): Promise<PitrDrillCheck> {
  const differ = restore.namespaces.filter((n) => !n.ok).map((n) => `${n.ns}: ${n.restored} restored, the manifest says ${n.expected}`);
  const state = (await latestVerifications(dest)).get(plan.base.id);
  const full: VerificationRecord | undefined = state?.last.level === "checksum" ? state.lastFull : state?.last;
  const read = full?.ok && Array.isArray(full.detail.namespaces) ? (full.detail.namespaces as Array<{ ns: string; found: number }>) : undefined;
  let detail = `the base's counts against its manifest`;
  if (read && full) {
    const restored = new Map(restore.namespaces.map((n) => [n.ns, n.restored]));
    differ.push(...read.filter((n) => !n.ns.startsWith(".") && restored.get(n.ns) !== n.found).map((n) => `${n.ns}: ${restored.get(n.ns) ?? 0} restored, the verification of ${full.verifiedAt} read ${n.found}`));
    detail += ` and its ${full.level} verification of ${full.verifiedAt}`;
  } else {
    detail += `; not against a verification: ${dest.url} holds no passed full verification of base ${plan.base.id} (\`cloudsync verify ${plan.base.id} -i …\` makes one)`;
  }
  return differ.length === 0 ? { check: "base-counts", ok: true, detail } : { check: "base-counts", ok: false, detail, problem: differ.join("; ") };
}
