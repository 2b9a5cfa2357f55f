import type { Command } from "commander";
import { defaultIdentityPath } from "../../config/config.js";
import type { CliApp } from "../app.js";

/** The options of `cloudsync keys new`, declared by its flags below. */
export interface KeysNewCommandOptions {
  readonly out?: string;
}

/** `cloudsync keys new`: create an age identity and print its recipient. */
export function register(program: Command, app: CliApp): void {
  const keys = program.command("keys").description("Manage encryption keys");
  keys
    .command("new")
    .description("Create an age X25519 identity (private, mode 0600) and print its recipient (public, goes in the backup config)")
    .option("-o, --out <file>", `where to write the identity (default ${defaultIdentityPath()}); refuses to overwrite`)
    .action(app.action<KeysNewCommandOptions>(async () => (await import("./keys.run.js")).run));
}
