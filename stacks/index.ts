/**
 * The stack programs by name. The entry program (index.ts at the repository root) picks one by
 * `pulumi.getStack()`.
 */
import { atlas } from "./atlas.js";
import { cloud } from "./cloud.js";
import { local } from "./local.js";

/** Every stack this project knows. */
export const STACKS: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = Object.freeze({ local, cloud: () => cloud(), atlas });

/**
 * Runs the stack program named `name` and returns its outputs. Throws `Error` naming the known
 * stacks for any other name (a stack created under a typo must not deploy half an environment).
 */
export async function runStack(name: string): Promise<Record<string, unknown>> {
  const program = Object.hasOwn(STACKS, name) ? STACKS[name] : undefined;
  if (!program) {
    throw new Error(`unknown stack ${JSON.stringify(name)}: this project defines ${Object.keys(STACKS).join(", ")}; select one with \`pulumi stack select <name>\` (see docs/INFRA.md)`);
  }
  return program();
}
