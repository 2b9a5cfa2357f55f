/**
 * age identity files: the text format `age-keygen` writes and `age -d -i` reads — one
 * "AGE-SECRET-KEY-1…" per line, blank lines and "#" comment lines ignored.
 */
import { open } from "node:fs/promises";
import { ConfigError, describeLocalIO } from "../../errors.js";
import { Secret } from "../../secret.js";
import { ageRecipientOf, parseIdentity } from "./x25519.js";

/**
 * Parses an identity file's text. `source` (the file's path) is the ConfigError field. Throws
 * ConfigError naming the line when a line is not an age X25519 identity (SSH keys and plugin
 * identities are not supported), or when there is no identity at all. The offending line is
 * never quoted: it may be a key.
 */
export function parseAgeIdentities(text: string, source: string): Secret[] {
  const out: Secret[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const id = new Secret(line);
    try {
      parseIdentity(id);
    } catch {
      throw new ConfigError(source, `line ${i + 1} is not an age X25519 identity (expected AGE-SECRET-KEY-1…; SSH and plugin keys are not supported)`);
    }
    out.push(id);
  }
  if (out.length === 0) throw new ConfigError(source, "contains no age identity (AGE-SECRET-KEY-1… line); is this the right file?");
  return out;
}

/**
 * Writes an identity file in `age-keygen`'s format ("# created: <RFC 3339>", "# public key:
 * age1…", the key, each on its own line), created with mode 0600 and O_EXCL, then fsynced.
 *
 * Throws ConfigError(path) when the file already exists (an identity is never overwritten: the
 * old one may be the only key to existing backups) or when `recipient` is not `identity`'s
 * recipient; LocalIOError for ENOSPC/EACCES/EROFS and the like.
 */
export async function writeIdentityFile(path: string, identity: Secret, recipient: string): Promise<void> {
  if (ageRecipientOf(identity) !== recipient) throw new ConfigError(path, "the recipient does not belong to this identity; nothing was written");
  const created = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const text = `# created: ${created}\n# public key: ${recipient}\n${identity.reveal()}\n`;
  let fh;
  try {
    fh = await open(path, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new ConfigError(path, "already exists; refusing to overwrite an identity file (it may be the only key to existing backups); choose another path", { cause: err });
    }
    throw describeLocalIO(err, `write identity ${path}`);
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (err) {
    throw describeLocalIO(err, `write identity ${path}`);
  } finally {
    await fh.close();
  }
}
