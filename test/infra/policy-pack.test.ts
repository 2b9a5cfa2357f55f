/**
 * The policy pack started the way `pulumi preview --policy-pack policy` starts it: the Node.js
 * language host runs `@pulumi/pulumi/cmd/run-policy-pack` with the pack's directory as the program
 * and as the working directory, so Node loads the `main` of policy/package.json and
 * `PolicyPack` reads that file's `version`. The pack then serves the analyzer gRPC API on the
 * port it prints; the test asks it what the engine asks first (GetAnalyzerInfo).
 */
import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RULES } from "../../policy/pack.js";
import { repoRoot } from "../support/paths.js";

const require = createRequire(import.meta.url);
const built = existsSync(path.join(repoRoot, "dist/policy/index.js"));
if (!built) console.warn("policy pack load test skipped: dist/policy/index.js is missing; run `npm run build` first");

type AnalyzerInfo = { getName(): string; getVersion(): string; getPoliciesList(): { getName(): string; getEnforcementlevel(): number }[] };
type AnalyzerClient = grpc.Client & { getAnalyzerInfo(req: unknown, cb: (err: grpc.ServiceError | null, res: AnalyzerInfo) => void): void };

describe.skipIf(!built)(`the policy pack as the engine loads it${built ? "" : " (skipped: dist/ missing, run npm run build)"}`, () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill("SIGKILL");
  });

  it("starts from policy/ and reports the cloudsync pack, its package.json version and every rule as mandatory", async () => {
    const policyDir = path.join(repoRoot, "policy");
    // The engine address is only used for logging by run-policy-pack; nothing listens there.
    child = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", policyDir], { cwd: policyDir, stdio: ["ignore", "pipe", "pipe"] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      let err = "";
      child?.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child?.stderr?.on("data", (c: Buffer) => (err += c.toString()));
      child?.once("exit", (code) => reject(new Error(`policy pack exited ${code} before serving: ${err}`)));
    });
    const { AnalyzerClient } = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js") as { AnalyzerClient: new (addr: string, creds: grpc.ChannelCredentials) => AnalyzerClient };
    const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => unknown };
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const info = await new Promise<AnalyzerInfo>((resolve, reject) => client.getAnalyzerInfo(new Empty(), (e, r) => (e ? reject(e) : resolve(r))));
      const pkg = require(path.join(policyDir, "package.json")) as { version: string };
      expect([info.getName(), info.getVersion()]).toEqual(["cloudsync", pkg.version]);
      // EnforcementLevel.MANDATORY is 1 in the analyzer protocol.
      expect(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()])).toEqual(RULES.map((r) => [r.name, 1]));
    } finally {
      client.close();
    }
  });
});
