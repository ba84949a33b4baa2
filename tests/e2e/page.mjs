// End to end in a real browser: serve the built site on loopback, load weights, drop two
// images onto the page, wait for the answers and compare them with the native CLI's, then
// check the class activation map drawn over each photo (toggle, opacity, a class picked by
// mouse and by keyboard). It runs
// twice: in Chromium with WebGPU, and in Chromium without it (navigator.gpu absent), where the
// page must say that it runs on the CPU and still show the same answers.
//   node tests/e2e/page.mjs SITE_DIR EXPECTED.jsonl IMAGE1 IMAGE2 SCREENSHOT.png
// SITE_DIR is `trunk build --release` output with weights/manifest.json in it; EXPECTED is
// `inception classify --json` for the same weights and images, one line per image. The
// screenshot of the run without WebGPU goes next to SCREENSHOT, with `-cpu` in its name.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { dropFiles, keepToOrigin, launchChromium, pagePolicy, runAll, serveDir } from "./browser.mjs";

const [site, expectedPath, img1, img2, screenshot] = process.argv.slice(2);
const expected = (await readFile(expectedPath, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
const files = await Promise.all([img1, img2].map(async (p) => ({ name: basename(p), bytes: await readFile(p) })));
const server = await serveDir(site);
if (!(await pagePolicy(site))) throw new Error(`${site}/index.html has no Content-Security-Policy`);

/**
 * Where the network looked, on the first card: the map of the top class is drawn over the
 * photo; picking another class (a click, or Enter on a focused row) redraws it for that
 * class; the toggle and an opacity of 0 both show the photo alone, pixel for pixel.
 */
async function checkMaps(page, run) {
  const failures = [];
  const card = page.locator(".card").first();
  const pixels = () => card.locator("canvas.cam").evaluate((c) => c.toDataURL());
  if ((await card.locator("canvas.cam").count()) !== 1) return [`${run}: no map drawn over the photo`];
  const rows = card.locator(".row");
  const pressed = () => rows.evaluateAll((rs) => rs.map((r) => r.getAttribute("aria-pressed")));
  const top = await pixels();
  if ((await pressed())[0] !== "true") failures.push(`${run}: the top class's map is not the one shown: ${await pressed()}`);
  await rows.nth(1).click();
  const second = await pixels();
  if (second === top) failures.push(`${run}: picking the second class did not change the map`);
  if ((await pressed()).join() !== "false,true,false,false,false") failures.push(`${run}: picked rows ${await pressed()}`);
  await rows.nth(0).focus();
  await page.keyboard.press("Enter");
  if ((await pixels()) !== top) failures.push(`${run}: Enter on the top row did not bring back its map`);
  await card.locator('input[type="checkbox"]').uncheck();
  const photo = await pixels();
  if (photo === top) failures.push(`${run}: the toggle did not hide the map`);
  await card.locator('input[type="checkbox"]').check();
  await card.locator('input[type="range"]').fill("0");
  if ((await pixels()) !== photo) failures.push(`${run}: opacity 0 is not the photo alone`);
  const label = await card.locator("canvas.cam").getAttribute("aria-label");
  if (!/where the network looked for/.test(label ?? "")) failures.push(`${run}: the map has no useful label: ${label}`);
  if (!failures.length) console.log(`[${run}] class activation maps: drawn, picked by click and key, toggle and opacity work`);
  return failures;
}

/** Runs the page once; returns what went wrong (empty when all is well). */
async function checkPage({ webgpu, screenshotPath }) {
  const run = webgpu ? "WebGPU" : "no WebGPU";
  const failures = [];
  const browser = await launchChromium({ webgpu });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const foreign = [];
    await keepToOrigin(page, server.origin, foreign);
    page.on("console", (m) => console.log(`[${run}] [page] ${m.text()}`));
    page.on("pageerror", (e) => failures.push(`${run}: page error: ${e.message}`));
    const workers = [];
    page.on("worker", (w) => workers.push(w));
    // Anything the page's Content-Security-Policy refuses is a failure: the page must run
    // entirely within it.
    await page.addInitScript(() => {
      window.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });

    await page.goto(server.origin);
    await page.waitForFunction(() => /Weights: /.test(document.getElementById("weights").textContent) ||
      document.getElementById("weights").classList.contains("error"), null, { timeout: 300_000 });
    const backend = await page.textContent("#backend");
    console.log(`[${run}] status: ${backend} | ${await page.textContent("#weights")}`);
    const onCpu = /on the CPU/.test(backend);
    if (webgpu && onCpu) failures.push(`${run}: the page fell back to the CPU: ${backend}`);
    if (!webgpu && !onCpu) failures.push(`${run}: the page does not say that it runs on the CPU: ${backend}`);

    // Drop two images onto the page, as a user dragging them from a file manager would.
    const started = Date.now();
    await dropFiles(page, files);
    await page.waitForFunction(() => document.querySelectorAll(".card[data-done]").length === 2, null, { timeout: 1_500_000 });
    console.log(`[${run}] two results after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`[${run}] ${await page.textContent("#cold-start")}`);

    const shown = await page.$$eval(".card", (cards) => cards.map((c) => ({
      name: c.querySelector("h2").textContent,
      error: c.querySelector(".error")?.textContent ?? null,
      top5: [...c.querySelectorAll(".row")].map((r) => Number(r.dataset.index)),
    })));
    for (const e of expected) {
      const name = basename(e.image);
      const s = shown.find((c) => c.name === name);
      const want = e.top5.map((p) => p.index);
      if (!s) failures.push(`${run}: ${name}: no card`);
      else if (s.error) failures.push(`${run}: ${name}: error shown: ${s.error}`);
      else if (JSON.stringify(s.top5) !== JSON.stringify(want)) failures.push(`${run}: ${name}: page top-5 ${s.top5} != CLI ${want}`);
      else console.log(`[${run}] ${name}: top-5 ${s.top5} equals the CLI's`);
    }
    failures.push(...(await checkMaps(page, run)));
    const violations = await page.evaluate(() => window.__violations);
    if (violations.length) failures.push(`${run}: Content-Security-Policy violations: ${violations.join(", ")}`);
    // The policy is in force: the page runs no inline script, and the worker reaches no
    // other origin (a loopback address of another origin; were the request let through,
    // it would also show below as a request outside the page's origin).
    const inline = await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.__inlineRan = true";
      document.head.append(s);
      return window.__inlineRan === true;
    });
    const workerRefused = workers.length ? await workers[0].evaluate(() => new Promise((done) => {
      self.addEventListener("securitypolicyviolation", (e) => done(e.effectiveDirective), { once: true });
      setTimeout(() => done(null), 5000);
      fetch("http://127.0.0.2:9/csp-probe").catch(() => {});
    })) : "no worker";
    if (inline || workerRefused !== "connect-src")
      failures.push(`${run}: the Content-Security-Policy is not in force (inline script ran: ${inline}, worker's foreign fetch: ${workerRefused})`);
    else console.log(`[${run}] Content-Security-Policy in force: an inline script and the worker's foreign fetch were refused; ${violations.length} violations before`);
    if (foreign.length) failures.push(`${run}: requests outside ${server.origin}: ${foreign.join(", ")}`);
    await page.screenshot({ path: screenshotPath, fullPage: true });
    console.log(`[${run}] screenshot: ${screenshotPath}`);
  } finally {
    await browser.close();
  }
  return failures;
}

await runAll([true, false], (webgpu) => checkPage({
  webgpu, screenshotPath: webgpu ? screenshot : screenshot.replace(/(\.png)?$/, "-cpu.png"),
}), server);
