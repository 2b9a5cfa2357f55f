// The inventory page in headless Chromium (Debian's chromium through playwright-core), loaded
// from the real server: listing, search, licence filter, paging, and no markup injection.
// Conditions are polled from the test side: the page's CSP forbids the string evaluation that
// page.waitForFunction would need (and this tsconfig has no DOM types).
import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/server.js";
import { API_KEY, model, models, signedPost, tempDir } from "./helpers.js";

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
    server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), apiKey: API_KEY });
    const all = [...models(0, 120), { ...model(500), name: XSS, license: "evil-1.0" }];
    expect((await signedPost(server.url, { models: all })).status).toBe(200);
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
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator("#models tbody tr").count()).toBe(50);
    await expect.poll(() => page.textContent("#summary")).toMatch(/^121 models/);
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
    await expect.poll(() => page.textContent("#status")).toBe("30 models shown.");
    const licences = await page.$$eval("#models tbody td.license", (tds) => tds.map((td) => (td as unknown as { textContent: string }).textContent));
    expect(licences).toEqual(Array(30).fill("mit"));

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
});
