import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** Default place for a new identity: the user's config directory, never the backup folder. */
export function defaultIdentityPath(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "cloudsync", "identity.txt");
}

/** `cloudsync keys new`: create an age identity and print its recipient. */
export function register(program: Command, app: CliApp): void {
  const keys = program.command("keys").description("Manage encryption keys");
  keys
    .command("new")
    .description("Create an age X25519 identity (private, mode 0600) and print its recipient (public, goes in the backup config)")
    .option("-o, --out <file>", `where to write the identity (default ${defaultIdentityPath()}); refuses to overwrite`)
    .action(app.action(async () => (await import("./keys.run.js")).run));
}
