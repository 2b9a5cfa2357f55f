import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { register as backup } from "./backup.js";
import { register as verify } from "./verify.js";
import { register as daemon } from "./daemon.js";
import { register as db } from "./db.js";
import { register as demo } from "./demo.js";
import { register as estimate } from "./estimate.js";
import { register as inspect } from "./inspect.js";
import { register as keys } from "./keys.js";
import { register as list } from "./list.js";
import { register as oplog } from "./oplog.js";
import { register as migrate } from "./migrate.js";
import { register as prune } from "./prune.js";
import { register as restore } from "./restore.js";
import { register as seed } from "./seed.js";
import { register as standby } from "./standby.js";
import { register as status } from "./status.js";
import { register as serveMetadata } from "./serve-metadata.js";
import { register as syncMetadata } from "./sync-metadata.js";

/** Every command of the CLI, in the order `--help` lists them. */
export function registerCommands(program: Command, app: CliApp): void {
  for (const register of [demo, backup, list, verify, inspect, restore, oplog, prune, daemon, status, keys, seed, db, migrate, standby, estimate, serveMetadata, syncMetadata]) register(program, app);
}
