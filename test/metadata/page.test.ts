// The inventory page in headless Chromium (Debian's chromium through playwright-core), loaded
// from the real server: listing, search, licence filter, paging, and no markup injection, with
// JavaScript and without it (the page is rendered on the server: issue 9, item 27).
// Conditions are polled from the test side: the page's CSP forbids the string evaluation that
// page.waitForFunction would need (and this tsconfig has no DOM types).
import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/server.js";
import { tempDir } from "../support/paths.js";
import { API_KEY, model, models, signedPost } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const skip = !existsSync(CHROMIUM);
if (skip) console.warn(`inventory page tests skipped: ${CHROMIUM} is absent (apt-get install -y --no-install-recommends chromium)`);

describe.skipIf(skip)(`inventory page in headless Chromium${skip ? " (skipped: /usr/bin/chromium absent)" : ""}`, () => {
  const tmp = tempDir("meta-page");
  let server: MetadataServer;
  let browser: Browser;
  const XSS = `<img src=x onerror="window.__xss=1">`;

  beforeAll(async () => {
    server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), apiKey: API_KEY, readRateLimit: false });
    const natural = [{ ...model(601), name: "Natural 10" }, { ...model(602), name: "Natural 2" }, { ...model(603), name: "Natural 1b" }, { ...model(604), name: "naturalgpt\u202Eexe.fdp" }];
    const all = [...models(0, 120), { ...model(500), name: XSS, license: "evil-1.0" }, ...natural];
    expect((await signedPost(server.url, { models: all, licenses: [{ id: "mit", name: "MIT License" }] })).status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp.cleanup();
  });

  it("lists models, searches, filters by licence, pages, and renders names as text", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => (m.type() === "error" ? errors.push(m.text()) : undefined));
    const requests: string[] = [];
    page.on("request", (r) => requests.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.goto(`${server.url}/`, { waitUntil: "load" });
    // First paint needs nothing beyond the page and its two assets.
    expect(requests).toEqual(["/", "/assets/app.css", "/assets/app.js"]);
    await expect.poll(() => page.locator("#models tbody tr").count()).toBe(50);
    await expect.poll(() => page.textContent("#summary")).toMatch(/^125 models/);
    expect(await page.textContent("#status")).toBe("50+ models shown.");

    await page.click("#more");
    await expect.poll(() => page.locator("#models tbody tr").count()).toBe(100);

    await page.fill("#search", "00012");
    await expect.poll(() => page.locator("#models tbody tr").count()).toBe(1);
    expect(await page.getAttribute("#models tbody tr", "data-id")).toBe("model-00012");
    expect(await page.textContent("#models tbody tr td.name")).toBe(model(12).name);

    await page.fill("#search", "");
    await expect.poll(() => page.locator("#models tbody tr").count()).toBe(50);
    await expect.poll(() => page.locator("#license option").count()).toBe(6);
    await page.selectOption("#license", "mit");
    await expect.poll(() => page.textContent("#status")).toBe("31 models shown.");
    const licences = await page.$$eval("#models tbody td.license", (tds) => tds.map((td) => (td as unknown as { textContent: string }).textContent));
    expect(licences).toEqual(Array(31).fill("MIT License"));

    await page.selectOption("#license", "evil-1.0");
    await expect.poll(() => page.locator("#models tbody tr").count()).toBe(1);
    expect(await page.textContent("#models tbody tr td.name")).toBe(XSS);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.$$("#models img")).toHaveLength(0);

    await page.fill("#search", "no such model");
    await expect.poll(() => page.textContent("#status")).toBe("No models match.");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("works without JavaScript: server-rendered rows, the licence form, sort links in natural order, the next page, neutralised names", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const cells = (selector: string): Promise<string[]> => page.$$eval(selector, (tds) => tds.map((td) => (td as unknown as { textContent: string }).textContent));
    await page.goto(`${server.url}/`);
    expect(await page.locator("#models tbody tr").count()).toBe(50);
    expect(await page.textContent("#summary")).toMatch(/^125 models, .* in total\.$/);
    expect(await page.textContent("#status")).toBe("50+ models shown.");

    await page.click("#more");
    await page.waitForURL(/cursor=/);
    expect(await page.locator("#models tbody tr").count()).toBe(50);
    // Page one holds the markup-named row ('<' sorts first) and model-00000…00048.
    expect(await page.getAttribute("#models tbody tr", "data-id")).toBe("model-00049");

    await page.goto(`${server.url}/`);
    await page.selectOption("#license", "mit");
    await page.click("#apply");
    await page.waitForURL(/license=mit/);
    expect(await cells("#models tbody td.license")).toEqual(Array(31).fill("MIT License"));

    await page.goto(`${server.url}/`);
    await page.fill("#search", "natural");
    await page.click("#apply");
    await page.waitForURL(/q=natural/);
    // The form sends its empty licence (`license=`): every licence, not none.
    expect(page.url()).toContain("license=&");
    expect(await cells("#models tbody td.name")).toEqual(["Natural 1b", "Natural 2", "Natural 10", "naturalgpt\uFFFDexe.fdp"]);
    await page.click("#models thead th:first-child a");
    await page.waitForURL(/order=desc/);
    expect(await cells("#models tbody td.name")).toEqual(["naturalgpt\uFFFDexe.fdp", "Natural 10", "Natural 2", "Natural 1b"]);
    expect(await page.getAttribute("#models thead th:first-child", "aria-sort")).toBe("descending");
    await context.close();
  });
});
