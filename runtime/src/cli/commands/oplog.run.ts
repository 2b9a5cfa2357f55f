// The implementation of `cloudsync oplog follow`, imported by ./oplog.ts only when the command runs, so
// that its dependencies load only then.
import { resolve } from "node:path";
import { compressionOf } from "../../config/config.js";
import { destinationOf } from "../../destinations/from-config.js";
import { EXIT } from "../../errors.js";
import { formatTime } from "../../manifest/manifest.js";
import { planEncryption } from "../../pipeline/encryption.js";
import { followOplog, followStatePath, sliceLimitsOf } from "../../pipeline/oplog-follow.js";
import { verifyChain } from "../../pipeline/pitr.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { flagsToConfig } from "../common.js";
import type { Run } from "../app.js";
import type { OplogFollowCommandOptions, OplogVerifyCommandOptions } from "./oplog.js";

/** Runs `cloudsync oplog follow`. */
export const run: Run<OplogFollowCommandOptions> = async (ctx) => {
  const o = ctx.opts;
  const { flags, names } = flagsToConfig(o, "to");
  const config = ctx.config(flags, names);
  const { sliceMs, sliceBytes } = sliceLimitsOf(o.slice, o.sliceSize);
  const encryption = await planEncryption(config);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  const statePath = o.state ? resolve(o.state) : followStatePath(config.daemon.stateDir, dest.url);
  const result = await followOplog({
    uri: config.mongodbUri,
    destination: dest,
    compression: compressionOf(config),
    encryption,
    statePath,
    sliceMs,
    sliceBytes,
    once: Boolean(o.once),
    signal: ctx.signal,
    log: (line) => ctx.out.warn(`oplog: ${line}`),
  });
  ctx.out.result(
    { destination: dest.url, state: statePath, mode: result.mode ?? null, position: result.position, slices: result.slices.map((s) => ({ id: s.id, ...s.oplog, size: s.object.size })), gaps: result.gaps },
    () => `stored ${result.slices.length} slice${result.slices.length === 1 ? "" : "s"} in ${dest.url}; position ${formatTime(result.position)} saved in ${statePath}`,
  );
};

/** Runs `cloudsync oplog verify`: exit 4 when a slice is damaged or the chain is broken. */
export const runVerify: Run<OplogVerifyCommandOptions> = async (ctx) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const config = ctx.config(flags, names);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  const keys = config.identityFiles.length || config.passphraseFile ? await loadDecryptionKeys(config) : undefined;
  const result = await verifyChain(dest, keys, ctx.signal);
  ctx.out.result({ destination: dest.url, ...result }, () =>
    [
      ...result.slices.map((s) => `${s.ok ? "ok    " : "FAILED"} ${s.id}${s.problem ? `: ${s.problem}` : ""}`),
      ...result.problems.map((p) => `CHAIN BROKEN at slice ${p.slice}: it ${p.problem}`),
      ...result.gaps.map((g) => `gap recorded by slice ${g.slice}: entries after ${g.from.t},${g.from.i} and before ${g.to.t},${g.to.i} are lost`),
      `${result.ok ? "chain ok" : "chain NOT ok"}: ${result.slices.length} slices, ${result.level === "read" ? "decrypted, CRCs and counts checked" : "sizes and SHA-256 checked (give -i to decrypt and check CRCs too)"}`,
    ].join("\n"),
  );
  if (!result.ok) ctx.setExitCode(EXIT.integrity);
};
