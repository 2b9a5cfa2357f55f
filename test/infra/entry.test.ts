import { describe, expect, it } from "vitest";
import { runStack, stackKind, STACKS } from "../../stacks/index.js";
import { runMocked } from "./harness.js";

const UNKNOWN = (name: string): string =>
  `unknown stack ${JSON.stringify(name)}: this project defines the stack kinds local, cloud, atlas; name a stack after its kind, optionally followed by -<environment> (such as cloud-staging), and select it with \`pulumi stack select <name>\` (see docs/INFRA.md)`;

describe("entry program", () => {
  it("knows exactly the three stack kinds", () => {
    expect(Object.keys(STACKS)).toEqual(["local", "cloud", "atlas"]);
  });

  it("runs a stack named after a kind, or a kind and an environment", () => {
    expect(["local", "cloud", "atlas", "cloud-staging", "local-laptop", "atlas-eu-2"].map(stackKind)).toEqual(["local", "cloud", "atlas", "cloud", "local", "atlas"]);
    expect(["staging", "cloud-", "-cloud", "cloudy", "cloud_staging", "", "toString", "toString-x"].map(stackKind)).toEqual(Array(8).fill(undefined));
  });

  it("fails loudly on an unknown stack, naming the known kinds", async () => {
    await expect(runMocked("staging", {}, [], () => runStack("staging"))).rejects.toThrow(UNKNOWN("staging"));
  });

  it("refuses prototype keys as stack names", async () => {
    await expect(runStack("toString")).rejects.toThrow(UNKNOWN("toString"));
  });
});
