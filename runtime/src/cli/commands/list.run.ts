// The implementation of `cloudsync list`, imported by ./list.ts only when the command runs, so that
// its dependencies load only then.
import { listBackups, type VerificationRecord, type VerificationState } from "../../manifest/store.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { formatBytes } from "../progress.js";
import type { Run } from "../app.js";
import { table, type ListCommandOptions } from "./list.js";

/**
 * The last verification's outcome, level and time (`ok read 2026-11-24T03:00:00Z`, `FAILED …`), or
 * "never"; a checksum-only pass after a failed full read says so, since it does not clear it.
 */
function verificationCell(state: VerificationState | undefined): string {
  if (!state) return "never";
  const at = (r: VerificationRecord): string => `${r.level} ${r.verifiedAt.replace(/\.\d{3}Z$/, "Z")}`;
  const cell = `${state.last.ok ? "ok" : "FAILED"} ${at(state.last)}`;
  return state.last.ok && state.lastFull && !state.lastFull.ok ? `${cell} (after FAILED ${at(state.lastFull)})` : cell;
}

/** Runs `cloudsync list`. */
export const run: Run<ListCommandOptions> = async (ctx) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const config = ctx.config(flags, names);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  const entries = await listBackups(dest, { withVerifications: true, onProblem: (key, err) => ctx.out.warn(`warning: skipped ${key}: ${err.message}`) });
  ctx.out.result(
    entries.map((e) => ({
      id: e.manifest.id,
      key: e.manifest.object.key,
      manifestKey: e.manifestKey,
      createdAt: e.manifest.createdAt,
      size: e.manifest.object.size,
      sha256: e.manifest.object.sha256,
      documents: e.manifest.totals.documents,
      namespaces: e.manifest.totals.namespaces,
      encryption: e.manifest.encryption.scheme,
      consistency: e.manifest.consistency.mode,
      lastVerifiedAt: e.lastVerified?.verifiedAt ?? null,
      lastVerification: e.verification ? { at: e.verification.last.verifiedAt, ok: e.verification.last.ok, level: e.verification.last.level } : null,
      verified: e.lastVerified !== undefined,
    })),
    () => {
      if (entries.length === 0) return `no complete backups in ${dest.url}`;
      const rows = entries.map((e) => [e.manifest.id, e.manifest.createdAt.replace(/\.\d{3}Z$/, "Z"), formatBytes(e.manifest.object.size), String(e.manifest.totals.documents), e.manifest.encryption.scheme, verificationCell(e.verification)]);
      return table(["ID", "CREATED", "SIZE", "DOCS", "ENCRYPTION", "LAST VERIFIED"], rows) + `\n${entries.length} backup${entries.length === 1 ? "" : "s"} in ${dest.url}`;
    },
  );
};
