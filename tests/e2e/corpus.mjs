// The bad-input corpus (tests/corpus/make_corpus.py) through the page, in headless Chromium:
// every image card ends with a result or a message as the corpus says, weights files load or
// are refused with a message, a photo dropped together with a weights file is classified
// with the weights it was dropped under, a worker that dies is replaced and the card it was
// working on says so, the page classifies a good image at the end of each run, and broken
// or hostile manifests are refused with a message.
//   node tests/e2e/corpus.mjs SITE_DIR CORPUS_DIR
// SITE_DIR is the built site with 299x299 weights in weights/manifest.json. Without WebGPU
// (the wasm CPU path) every image of the corpus runs; on WebGPU (SwiftShader here: tens of
// seconds a pass) the images refused before the network, plus a few that reach it.
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { dropFiles, keepToOrigin, launchChromium, runAll, serveDir } from "./browser.mjs";

const [site, corpusDir] = process.argv.slice(2);
const corpus = JSON.parse(await readFile(join(corpusDir, "corpus.json"), "utf8"));
const server = await serveDir(site);
// Weights files small enough to drop one after another (the large ones run natively).
const MAX_DROPPED_WEIGHTS = 16 << 20;
const REACHING_THE_NETWORK_ON_WEBGPU = ["images/good.png", "images/size-16384x1.png", "images/exif-orientation-6.jpg"];

const cardsDone = (n) => document.querySelectorAll(".card[data-done]").length >= n;
const weightsSettled = (before) => {
  const el = document.getElementById("weights");
  return el.textContent !== before && (/^Weights: /.test(el.textContent) || el.classList.contains("error"));
};

const drop = async (page, files) =>
  dropFiles(page, await Promise.all(files.map(async (f) => ({ name: basename(f), bytes: await readFile(join(corpusDir, f)) }))));

const cards = (page) => page.$$eval(".card", (cs) => cs.reverse().map((c) => ({
  name: c.querySelector("h2").textContent,
  done: c.dataset.done ?? null,
  error: c.querySelector(".error")?.textContent ?? null,
  top5: [...c.querySelectorAll(".row")].length,
})));

// Manifests that a broken or hostile server could send in place of weights/manifest.json:
// each ends in a message that names the fault, and no weights are loaded.
const MANIFESTS = [
  ["a file outside weights/", (m) => JSON.stringify({ ...m, file: "../index.html" }), /manifest's file is not valid/],
  ["a sha256 that is not the file's", (m) => JSON.stringify({ ...m, sha256: "0".repeat(64) }), /damaged/],
  ["a size smaller than the file", (m) => JSON.stringify({ ...m, size: 1000 }), /more than the 1000 bytes/],
  ["a size past the limit", (m) => JSON.stringify({ ...m, size: 2 ** 40 }), /manifest's size is not valid/],
  ["no JSON", () => "{\"file\": ", /manifest is not valid/],
];

async function hostileManifests(browser, tag) {
  const good = JSON.parse(await readFile(join(site, "weights/manifest.json"), "utf8"));
  const failures = [];
  for (const [what, body, expected] of MANIFESTS) {
    // Playwright's routes do not see what a service worker answers: once the site's sw.js
    // took over, the worker's manifest request reached the real file. The manifest is the
    // subject here, not offline visits (tests/e2e/offline.mjs), so the page gets none.
    const page = await browser.newPage({ serviceWorkers: "block" });
    try {
      page.on("pageerror", (e) => failures.push(`${tag}: manifest with ${what}: page error: ${e.message}`));
      await page.route(`${server.origin}/weights/manifest.json`, (route) =>
        route.fulfill({ contentType: "application/json", body: body(good) }));
      await page.goto(server.origin);
      await page.waitForFunction(() => /^Weights: /.test(document.getElementById("weights").textContent) ||
        document.getElementById("weights").classList.contains("error"), null, { timeout: 300_000 });
      const text = await page.textContent("#weights");
      if (!expected.test(text)) failures.push(`${tag}: manifest with ${what}: the page says "${text}", not ${expected}`);
      else console.log(`[${tag}] manifest with ${what}: "${text}"`);
    } finally {
      await page.close();
    }
  }
  return failures;
}

async function run({ webgpu }) {
  const tag = webgpu ? "WebGPU" : "no WebGPU";
  const failures = [];
  const browser = await launchChromium({ webgpu });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const foreign = [];
    await keepToOrigin(page, server.origin, foreign);
    page.on("pageerror", (e) => failures.push(`${tag}: page error: ${e.message}`));
    const workers = [];
    page.on("worker", (w) => workers.push(w));
    await page.goto(server.origin);
    await page.waitForFunction(() => /^Weights: /.test(document.getElementById("weights").textContent), null, { timeout: 600_000 });
    console.log(`[${tag}] ${await page.textContent("#backend")} | ${await page.textContent("#weights")}`);

    // Images: all of them on the CPU; on WebGPU those refused before the network and a few others.
    const images = corpus.filter((e) => e.kind === "image" &&
      (!webgpu || e.expect === "error" || REACHING_THE_NETWORK_ON_WEBGPU.includes(e.file)));
    const started = Date.now();
    let shown = 0;
    // In batches, so that the page's memory holds a few dozen files at a time.
    for (let i = 0; i < images.length; i += 40) {
      const batch = images.slice(i, i + 40);
      await drop(page, batch.map((e) => e.file));
      shown += batch.length;
      await page.waitForFunction(cardsDone, shown, { timeout: 1_800_000 });
    }
    const got = await cards(page);
    let results = 0;
    images.forEach((entry, i) => {
      const card = got[i];
      const outcome = card.done === "true" && card.top5 === 5 ? "ok" : card.done === "error" && card.error ? "error" : null;
      if (!outcome) failures.push(`${tag}: ${entry.file}: card ended as ${JSON.stringify(card)}`);
      else if (entry.expect !== "either" && entry.expect !== outcome)
        failures.push(`${tag}: ${entry.file} (${entry.why}): expected ${entry.expect}, got ${outcome}: ${card.error ?? ""}`);
      if (outcome === "ok") results++;
    });
    console.log(`[${tag}] ${images.length} images in ${((Date.now() - started) / 1000).toFixed(0)} s: ${results} results, ${images.length - results} messages`);

    // A worker that dies while it works on a photo (as after a trap of the wasm module): the
    // card says so, a new worker loads the weights again, and the next photo is classified.
    const [worker] = workers.slice(-1);
    await worker.evaluate(() => {
      const handler = self.onmessage;
      self.onmessage = (event) => {
        if (event.data.type === "classify") throw new WebAssembly.RuntimeError("unreachable (injected by the test)");
        handler(event);
      };
    });
    await drop(page, ["images/good.png", "images/good.jpg"]);
    shown += 2;
    await page.waitForFunction(cardsDone, shown, { timeout: 900_000 });
    const [killed, after] = (await cards(page)).slice(-2);
    if (!(killed.done === "error" && /stopped .*restarted/.test(killed.error)))
      failures.push(`${tag}: the card the dead worker had: ${JSON.stringify(killed)}`);
    if (after.done !== "true") failures.push(`${tag}: the photo after a restart: ${JSON.stringify(after)}`);
    console.log(`[${tag}] after a worker died: "${killed.error}", then ${after.done === "true" ? "a result" : "no result"}`);

    // A photo and a weights file dropped together: the photo is classified, then the weights load.
    if (!webgpu) {
      const before = await page.textContent("#weights");
      await drop(page, ["images/good.webp", "weights/roundtrip.bpk"]);
      shown += 1;
      await page.waitForFunction(cardsDone, shown, { timeout: 900_000 });
      await page.waitForFunction(weightsSettled, before, { timeout: 300_000 });
      const [photo] = (await cards(page)).slice(-1);
      if (photo.done !== "true") failures.push(`${tag}: photo dropped with weights: ${JSON.stringify(photo)}`);
      if (!/^Weights: /.test(await page.textContent("#weights"))) failures.push(`${tag}: roundtrip.bpk did not load`);

      // Weights files, one at a time: loaded, or refused with a message.
      const weights = corpus.filter((e) => e.kind === "weights" && e.size <= MAX_DROPPED_WEIGHTS && /\.(bpk|safetensors)$/.test(e.file));
      for (const entry of weights) {
        const before = await page.textContent("#weights");
        await page.evaluate(() => { document.getElementById("weights").textContent = "(dropping)"; });
        await drop(page, [entry.file]);
        await page.waitForFunction(weightsSettled, "(dropping)", { timeout: 120_000 });
        const text = await page.textContent("#weights");
        const outcome = /^Weights: /.test(text) ? "ok" : "error";
        if (entry.expect !== "either" && entry.expect !== outcome)
          failures.push(`${tag}: ${entry.file} (${entry.why}): expected ${entry.expect}, got ${outcome}: ${text} (before: ${before})`);
      }
      console.log(`[${tag}] ${weights.length} weights files dropped`);
      await drop(page, ["images/good.png"]);
      shown += 1;
      await page.waitForFunction(cardsDone, shown, { timeout: 900_000 });
      const [last] = (await cards(page)).slice(-1);
      if (last.done !== "true") failures.push(`${tag}: a good photo after the weights corpus: ${JSON.stringify(last)}`);
    }
    if (!webgpu) failures.push(...await hostileManifests(browser, tag));
    if (foreign.length) failures.push(`${tag}: requests outside ${server.origin}: ${foreign.join(", ")}`);
  } finally {
    await browser.close();
  }
  return failures;
}

await runAll([false, true], (webgpu) => run({ webgpu }), server);
