// The page's "Load ImageNet weights" control, against a loopback stand-in for the Hugging Face
// Hub on another origin (tests/hub/standin.py: its API, a 302 from resolve/ to a CDN on a
// third origin, CORS as the Hub sends it). In Chromium without WebGPU (the CPU path: the
// weights path is the same on both, and the CPU is quicker here):
// - no request reaches the Hub before the visitor asks;
// - the control downloads the 224 MB checkpoint with a progress bar, checks its sha256, and
//   the page says where the weights came from and how big they are;
// - two dropped images get the top-5 of the native CLI for the same weights;
// - a second visit loads them from the Cache API with no request to the Hub or the CDN;
// - "Clear cached weights" empties the cache;
// - a storage quota too small for them is said in the page, and the weights still load.
//   node tests/e2e/hub.mjs SITE_DIR EXPECTED.jsonl IMAGE1 IMAGE2 PYTHON CHECKPOINT.safetensors
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { dropFiles, launchChromium, runAll, serveDir } from "./browser.mjs";

const [site, expectedPath, img1, img2, python, checkpoint] = process.argv.slice(2);
const REPO = "timm/inception_resnet_v2.tf_in1k";
const expected = (await readFile(expectedPath, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
const files = await Promise.all([img1, img2].map(async (p) => ({ name: basename(p), bytes: await readFile(p) })));
const log = join(await mkdtemp(join(tmpdir(), "hub-e2e-")), "requests.jsonl");
const standin = spawn(python, [new URL("../hub/standin.py", import.meta.url).pathname,
  "--repo", `${REPO}=${checkpoint}`, "--log", log], { stdio: ["ignore", "pipe", "inherit"] });
process.on("exit", () => standin.kill());
const { hub, cdn } = JSON.parse(await new Promise((ok) => createInterface({ input: standin.stdout }).once("line", ok)));
const requests = async () => (await readFile(log, "utf8").catch(() => "")).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const server = await serveDir(site);
const url = `${server.origin}/?hub=${encodeURIComponent(hub)}`;
const weightsText = (page) => page.textContent("#weights");

async function visit(context, failures, what) {
  const page = await context.newPage();
  page.on("console", (m) => console.log(`[${what}] [page] ${m.text()}`));
  page.on("pageerror", (e) => failures.push(`${what}: page error: ${e.message}`));
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    // Every progress value the bar shows, to check that the download reported progress.
    window.__progress = [];
    new MutationObserver(() => {
      const p = document.getElementById("progress");
      if (p && !p.hidden) window.__progress.push([p.value, p.max]);
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["value", "hidden"] });
  });
  // No shipped weights on this site: the Hub's are the only ones loaded.
  await context.route("**/weights/manifest.json", (route) => route.fulfill({ status: 404, body: "" }));
  await page.goto(url);
  await page.waitForFunction(() => /No weights are shipped/.test(document.getElementById("weights").textContent), null, { timeout: 120_000 });
  return page;
}

async function loadFromHub(page, what) {
  const started = Date.now();
  await page.click("#load-hub");
  await page.waitForFunction(() => /^Weights: /.test(document.getElementById("weights").textContent) ||
    document.getElementById("weights").classList.contains("error"), null, { timeout: 900_000 });
  const text = await weightsText(page);
  console.log(`[${what}] after ${((Date.now() - started) / 1000).toFixed(1)} s: ${text}`);
  return text;
}

async function check() {
  const failures = [];
  const browser = await launchChromium({ webgpu: false });
  try {
    // The manifest route below must see every request: no service worker may answer first
    // (Playwright's routes do not see what one answers).
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, serviceWorkers: "block" });
    const first = await visit(context, failures, "first visit");
    if ((await requests()).length) failures.push(`requests reached the Hub before the visitor asked: ${JSON.stringify(await requests())}`);
    const text = await loadFromHub(first, "first visit");
    const host = new URL(hub).host;
    for (const part of [`Weights: ${REPO} downloaded from ${host}`, "223.7 MB", "sha256 checked", "1000 classes"])
      if (!text.includes(part)) failures.push(`the weights status lacks "${part}": ${text}`);
    const progress = await first.evaluate(() => window.__progress);
    const last = progress.at(-1);
    if (progress.length < 2 || !last || last[1] !== 223726776) failures.push(`no download progress shown: ${JSON.stringify(progress.slice(-3))}`);
    else console.log(`[first visit] the progress bar moved ${progress.length} times, up to ${last[0]} of ${last[1]} bytes`);
    const seen = (await requests()).map((r) => `${r.origin} ${r.method} ${r.path.split("?")[0]}`);
    const wanted = [`hub GET /api/models/${REPO}/revision/main`, `hub GET /${REPO}/resolve/`, "cdn GET /blobs/"];
    for (const w of wanted) if (!seen.some((s) => s.startsWith(w))) failures.push(`no request "${w}…": ${seen.join(", ")}`);
    console.log(`[first visit] requests to the stand-in: ${seen.join(", ")} (the CDN is ${cdn})`);

    await dropFiles(first, files);
    await first.waitForFunction(() => document.querySelectorAll(".card[data-done]").length === 2, null, { timeout: 900_000 });
    const shown = await first.$$eval(".card", (cards) => cards.map((c) => ({
      name: c.querySelector("h2").textContent,
      error: c.querySelector(".error")?.textContent ?? null,
      top5: [...c.querySelectorAll(".row")].map((r) => Number(r.dataset.index)),
    })));
    for (const e of expected) {
      const s = shown.find((c) => c.name === basename(e.image));
      const want = e.top5.map((p) => p.index);
      if (!s || s.error || JSON.stringify(s.top5) !== JSON.stringify(want))
        failures.push(`${basename(e.image)}: page ${JSON.stringify(s)} != CLI top-5 ${want}`);
      else console.log(`[first visit] ${s.name}: top-5 ${s.top5} equals the CLI's`);
    }
    const violations = await first.evaluate(() => window.__violations);
    if (violations.length) failures.push(`Content-Security-Policy violations: ${violations.join(", ")}`);
    await first.close();

    const before = (await requests()).length;
    const second = await visit(context, failures, "second visit");
    const again = await loadFromHub(second, "second visit");
    if (!again.includes(`Weights: ${REPO} from this browser's cache, 223.7 MB, sha256 checked`)) failures.push(`the second visit did not load from the cache: ${again}`);
    const after = (await requests()).length;
    if (after !== before) failures.push(`the second visit made ${after - before} requests to the stand-in`);
    else console.log("[second visit] loaded from the Cache API with no request to the Hub or the CDN");

    await second.click("#clear-cache");
    await second.waitForFunction(() => /Removed|could not/.test(document.getElementById("cache").textContent), null, { timeout: 60_000 });
    const cleared = await second.textContent("#cache");
    // The site's own cache (sw.js, for offline visits) stays: the control clears weights.
    const left = await second.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith("inception-weights")).length);
    if (!cleared.startsWith("Removed 1 cached weights file (223.7 MB)") || left !== 0) failures.push(`clearing the cache: "${cleared}", ${left} weights caches left`);
    else console.log(`[second visit] ${cleared}`);
    await second.close();

    // A storage quota too small for the weights: they load, and the page says that they were
    // not kept (in the error style), instead of missing the cache silently.
    const small = await visit(context, failures, "full quota");
    const cdp = await context.newCDPSession(small);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: server.origin, quotaSize: 10e6 });
    const full = await loadFromHub(small, "full quota");
    const flagged = await small.evaluate(() => document.getElementById("weights").classList.contains("error"));
    if (!full.includes("Weights: ") || !full.includes("not kept for the next visit: the browser's storage quota is full") || !flagged)
      failures.push(`a full quota was not shown: ${full} (error style: ${flagged})`);
    if (await small.evaluate(async () => (await (await caches.open("inception-weights-v1")).keys()).length) !== 0)
      failures.push("a full quota still left a cache entry");
  } finally {
    await browser.close();
  }
  return failures;
}

await runAll(["hub"], check, server);
