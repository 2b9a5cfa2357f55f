// The implementation of `cloudsync standby`, imported by ./standby.ts only when the command runs, so that
// its dependencies load only then.
import { ConfigError } from "../../errors.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { runStandby, type StandbyOptions } from "../../standby/standby.js";
import { loadState } from "../../standby/state.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { mongoUriFlag } from "./migrate.js";
import type { Run } from "../app.js";
import { parseInterval, statusLine, type StandbyCommandOptions } from "./standby.js";

/** Runs `cloudsync standby`. */
export const run: Run<StandbyCommandOptions> = async (ctx) => {
  const statePath = ctx.opts.state;
  if (ctx.opts.status) {
    const state = await loadState(statePath);
    if (!state.last) throw new ConfigError("--state", `${statePath} holds no status yet; run cloudsync standby first`);
    ctx.out.result(state.last, () => `${statusLine(state.last!)}\nmode reason: ${state.last!.reason}`);
    return;
  }
  if (typeof ctx.opts.standby !== "string") throw new ConfigError("--standby", "is required: the connection string of the server to keep warm");
  const standby = mongoUriFlag(ctx.opts.standby, "--standby");
  const primary = ctx.opts.primary === undefined ? undefined : mongoUriFlag(ctx.opts.primary, "--primary");
  ctx.out.addSecrets(standby, primary);
  if (!primary && !ctx.opts.fromBackups) throw new ConfigError("--primary", "is required (or --from-backups <destination>)");
  if (primary && ctx.opts.fromBackups) throw new ConfigError("--from-backups", "reads backups instead of the primary; give --primary or --from-backups, not both");
  const intervalMs = parseInterval(ctx.opts.interval);
  let backups: StandbyOptions["backups"];
  const { fromBackups } = ctx.opts;
  if (fromBackups) {
    const { flags, names } = flagsToConfig(ctx.opts);
    const config = ctx.config({ ...flags, destination: fromBackups }, { ...names, destination: "--from-backups" });
    backups = { dest: destinationOf(config, config.destination, ctx.destinationWrappers), keys: await loadDecryptionKeys(config) };
  }
  const run = await runStandby({
    standby,
    ...(primary ? { primary } : {}),
    ...(backups ? { backups } : {}),
    statePath,
    include: ctx.opts.include,
    exclude: ctx.opts.exclude,
    once: Boolean(ctx.opts.once),
    intervalMs,
    signal: ctx.signal,
    onMode: (mode, reason) => ctx.out.info(`standby mode: ${mode} (${reason})`),
    onStatus: (s) => ctx.out.info(statusLine(s)),
  });
  ctx.out.result({ mode: run.mode, reason: run.reason, ticks: run.ticks, status: run.last ?? null, state: statePath }, () => (ctx.signal.aborted ? "standby stopped; state saved" : ""));
};
