/**
 * The Pulumi program (compiled to dist/index.js, which Pulumi.yaml names as `main`). It runs the
 * stack program matching the selected stack; its return value becomes the stack's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { runStack } from "./stacks/index.js";

/** Runs the selected stack's program; throws for a stack name the project does not define. */
export default async function main(): Promise<Record<string, unknown>> {
  return runStack(pulumi.getStack());
}
