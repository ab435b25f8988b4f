// Lighthouse on signed-in pages, for `python -m bench.lighthouse` (make audit), which starts the app,
// seeds it and signs in. Usage: node bench/lighthouse.mjs PLAN.json, where PLAN is
// {"pages": [{"name", "url", "signedIn"}], "cookie": "session=...", "output": "folder"}. For each form factor
// (mobile: Lighthouse's default emulation and throttling; desktop: its desktop config) and page, a
// fresh headless Chromium (CHROME_PATH) is audited, signed-in pages with the cookie on every request;
// NAME-FORMFACTOR.report.{json,html} are written to the output folder and a summary.json listing them.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const CHROME_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
];
const CATEGORIES = ["performance", "accessibility", "best-practices"];
const FORM_FACTORS = { mobile: undefined, desktop: desktopConfig };

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
mkdirSync(plan.output, { recursive: true });
const summary = [];

for (const [formFactor, config] of Object.entries(FORM_FACTORS)) {
  for (const page of plan.pages) {
    const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH, chromeFlags: CHROME_FLAGS });
    try {
      const flags = {
        port: chrome.port,
        output: ["json", "html"],
        logLevel: "error",
        onlyCategories: CATEGORIES,
        extraHeaders: page.signedIn ? { Cookie: plan.cookie } : undefined,
      };
      const result = await lighthouse(page.url, flags, config);
      const [json, html] = result.report;
      const base = join(plan.output, `${page.name}-${formFactor}.report`);
      writeFileSync(`${base}.json`, json);
      writeFileSync(`${base}.html`, html);
      const { categories, audits, finalDisplayedUrl, runtimeError } = result.lhr;
      summary.push({
        page: page.name,
        formFactor,
        url: finalDisplayedUrl,
        error: runtimeError?.message ?? null,
        scores: Object.fromEntries(CATEGORIES.map((id) => [id, categories[id]?.score ?? null])),
        cls: audits["cumulative-layout-shift"]?.numericValue ?? null,
        lcp: audits["largest-contentful-paint"]?.numericValue ?? null,
        tbt: audits["total-blocking-time"]?.numericValue ?? null,
        fcp: audits["first-contentful-paint"]?.numericValue ?? null,
        report: `${base}.html`,
      });
      console.error(`lighthouse: ${page.name} (${formFactor}) done`);
    } finally {
      await chrome.kill();
    }
  }
}
writeFileSync(join(plan.output, "summary.json"), JSON.stringify(summary, null, 1) + "\n");
