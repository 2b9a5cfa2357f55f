import { describe, expect, it } from "vitest";
import { parseStackConfig, stackYaml } from "./harness.js";

describe("stack config files as users have them", () => {
  it("reads plain values and skips the secure: values `pulumi config set --secret` writes", () => {
    const text = [
      "config:",
      "  cloudsync:mongoPort: 27018",
      "  cloudsync:mongoRootPassword:",
      "    secure: v1:Zm9vYmFy:YmF6cXV4cXV1eA==",
      "  cloudsync:backupSchedule: 0 4 * * *",
      "  mongodbatlas:privateKey:",
      "    secure: AAABAHNvbWUtY2lwaGVydGV4dA==",
      "",
    ].join("\n");
    expect(parseStackConfig(text, "Pulumi.local.yaml")).toEqual({
      values: { "cloudsync:mongoPort": "27018", "cloudsync:backupSchedule": "0 4 * * *" },
      secureKeys: ["cloudsync:mongoRootPassword", "mongodbatlas:privateKey"],
    });
  });

  it("refuses any other structured value, naming the file and key", () => {
    expect(() => parseStackConfig("config:\n  cloudsync:accessList:\n    - 203.0.113.7/32\n", "Pulumi.atlas.yaml")).toThrow(
      "Pulumi.atlas.yaml: cloudsync:accessList is neither a plain value nor a secure: secret (structured config is not used by this project)",
    );
    expect(() => parseStackConfig("config:\n  cloudsync:x:\n    secure: v1:a\n    other: b\n", "Pulumi.cloud.yaml")).toThrow("Pulumi.cloud.yaml: cloudsync:x is neither");
  });

  it("reads a file with no config at all, and the shipped files", () => {
    expect(parseStackConfig("", "Pulumi.empty.yaml")).toEqual({ values: {}, secureKeys: [] });
    expect(stackYaml("local")["cloudsync:mongoPort"]).toBe("27017");
  });
});
