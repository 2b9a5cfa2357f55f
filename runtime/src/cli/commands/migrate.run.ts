// The implementation of `cloudsync migrate`, imported by ./migrate.ts only when the command runs, so that
// its dependencies load only then.
import { EXIT } from "../../errors.js";
import { copyDatabase, planCopy, type CopyOptions } from "../../migrate/copy.js";
import { verifyMigration } from "../../migrate/verify.js";
import { table } from "./list.js";
import type { Run } from "../app.js";
import { mongoUriFlag, type MigrateCommandOptions } from "./migrate.js";

/** Runs `cloudsync migrate`. */
export const run: Run<MigrateCommandOptions> = async (ctx) => {
  const from = mongoUriFlag(ctx.opts.from, "--from");
  const to = mongoUriFlag(ctx.opts.to, "--to");
  ctx.out.addSecrets(from, to);
  const { include, exclude } = ctx.opts;
  const opts: CopyOptions = { from, to, include, exclude, drop: Boolean(ctx.opts.drop), signal: ctx.signal };
  if (ctx.opts.dryRun) {
    const plan = await planCopy(opts);
    for (const w of plan.warnings) ctx.out.warn(`warning: ${w}`);
    ctx.out.result({ dryRun: true, ...plan }, () =>
      [
        `would copy ${plan.namespaces.length} collection(s) from ${plan.from} to ${plan.to}${ctx.opts.drop ? " (dropping each target collection first)" : ""}:`,
        table(["NAMESPACE", "TYPE", "DOCUMENTS (EST.)"], plan.namespaces.map((n) => [n.ns, n.type, n.estimatedDocuments === undefined ? "?" : String(n.estimatedDocuments)])),
      ].join("\n"),
    );
    return;
  }
  if (ctx.opts.verifyOnly) {
    const plan = await planCopy(opts);
    const v = await verifyMigration(from, to, plan.namespaces.filter((n) => n.type === "collection").map((n) => n.ns), { signal: ctx.signal });
    ctx.out.result({ from: plan.from, to: plan.to, verification: v, ok: v.ok }, () =>
      [
        `compared ${v.collections.length} collection(s) of ${plan.from} with ${plan.to}: ${v.ok ? "identical" : "DIFFERENT"}`,
        table(["NAMESPACE", "SOURCE", "TARGET", "INDEXES", "CONTENT", "OK"], v.collections.map((c) => [c.ns, String(c.sourceCount), String(c.targetCount ?? "absent"), c.indexesOk ? "ok" : "DIFFER", c.contentOk ? "ok" : "DIFFER", c.ok ? "yes" : "NO"])),
        ...v.differences.map((d) => `difference in ${d.ns}: ${d.what} (source ${d.expected}, target ${d.actual})`),
      ].join("\n"),
    );
    if (!v.ok) ctx.setExitCode(EXIT.integrity);
    return;
  }
  const progress = ctx.progress("migrate");
  // Restore progress is cumulative per namespace; the progress line wants increments.
  const seen = new Map<string, number>();
  const onRestore = (p: { ns: string; restored: number }): void => {
    progress.update({ documents: p.restored - (seen.get(p.ns) ?? 0) });
    seen.set(p.ns, p.restored);
  };
  const report = await copyDatabase({ ...opts, onRestore }).finally(() => progress.done());
  for (const w of report.warnings) ctx.out.warn(`warning: ${w}`);
  const copiedOk = report.restore.ok;
  const verification = ctx.opts.verify ? await verifyMigration(from, to, report.restore.namespaces.map((n) => n.ns), { signal: ctx.signal }) : undefined;
  const rows = report.restore.namespaces.map((n) => {
    const v = verification?.collections.find((c) => c.ns === n.ns);
    return [n.ns, String(n.expected), String(n.restored), ...(v ? [String(v.targetCount ?? "absent"), v.indexesOk ? "ok" : "DIFFER", v.contentOk ? "ok" : "DIFFER"] : []), (v ? v.ok && n.ok : n.ok) ? "yes" : "NO"];
  });
  const head = ["NAMESPACE", "SOURCE", "COPIED", ...(verification ? ["TARGET", "INDEXES", "CONTENT"] : []), "OK"];
  ctx.out.result(
    { from: report.from, to: report.to, namespaces: report.restore.namespaces, views: report.restore.views, skipped: report.restore.skipped, verification: verification ?? null, ok: copiedOk && (verification?.ok ?? true) },
    () =>
      [
        `copied ${report.restore.namespaces.length} collection(s) from ${report.from} to ${report.to}${verification ? (verification.ok ? "; verified: identical" : "; verification FAILED") : ""}`,
        table(head, rows),
        ...(report.restore.views.length ? [`views recreated: ${report.restore.views.join(", ")}`] : []),
        ...(verification?.differences.map((d) => `difference in ${d.ns}: ${d.what} (source ${d.expected}, target ${d.actual})`) ?? []),
      ].join("\n"),
  );
  if (!copiedOk || (verification && !verification.ok)) ctx.setExitCode(EXIT.integrity);
};
