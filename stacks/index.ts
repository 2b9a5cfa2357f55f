/**
 * The stack programs by kind. The entry program (index.ts at the repository root) picks one from
 * `pulumi.getStack()`: a stack is named after its kind (`local`, `cloud`, `atlas`) or the kind, a
 * hyphen and an environment (`cloud-staging`, `local-laptop`), so a second environment of the
 * same kind is a second stack with its own `Pulumi.<stack>.yaml`.
 */
import { atlas } from "./atlas.js";
import { cloud } from "./cloud.js";
import { local } from "./local.js";

/** Every stack kind this project knows. */
export const STACKS: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = Object.freeze({ local, cloud: () => cloud(), atlas });

/**
 * The kind of stack `name`: `name` itself when it is a kind, else the part before its first
 * hyphen when that is a kind and something follows it. `undefined` for any other name.
 */
export function stackKind(name: string): string | undefined {
  const dash = name.indexOf("-");
  const kind = dash > 0 && dash < name.length - 1 ? name.slice(0, dash) : name;
  return Object.hasOwn(STACKS, kind) ? kind : undefined;
}

/**
 * Runs the program of stack `name`'s kind and returns its outputs. Throws `Error` naming the
 * known kinds for any other name (a stack created under a typo must not deploy half an
 * environment).
 */
export async function runStack(name: string): Promise<Record<string, unknown>> {
  const kind = stackKind(name);
  const program = kind === undefined ? undefined : STACKS[kind];
  if (!program) {
    const kinds = Object.keys(STACKS);
    throw new Error(
      `unknown stack ${JSON.stringify(name)}: this project defines the stack kinds ${kinds.join(", ")}; name a stack after its kind, optionally followed by -<environment> (such as ${kinds[1]}-staging), and select it with \`pulumi stack select <name>\` (see docs/INFRA.md)`,
    );
  }
  return program();
}
