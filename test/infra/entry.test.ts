import { describe, expect, it } from "vitest";
import { runStack, STACKS } from "../../stacks/index.js";
import { runMocked } from "./harness.js";

describe("entry program", () => {
  it("knows exactly the three stacks", () => {
    expect(Object.keys(STACKS)).toEqual(["local", "cloud", "atlas"]);
  });

  it("fails loudly on an unknown stack, naming the known ones", async () => {
    await expect(runMocked("staging", {}, [], () => runStack("staging"))).rejects.toThrow(
      'unknown stack "staging": this project defines local, cloud, atlas; select one with `pulumi stack select <name>` (see docs/INFRA.md)',
    );
  });

  it("refuses prototype keys as stack names", async () => {
    await expect(runStack("toString")).rejects.toThrow('unknown stack "toString"');
  });
});
