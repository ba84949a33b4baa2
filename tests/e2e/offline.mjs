// The page as an app, on the shipped demo weights in Chromium without WebGPU:
// - the samples are buttons that classify their picture: each drawn shape's top class is
//   its own name under the demo weights (the photos are for ImageNet weights: they must
//   give a result, whatever its classes);
// - the cold-start line says when WebAssembly, the weights and the first result were ready;
// - the manifest's copies of the weights (int8, f16) are offered; picking f16 loads it, says
//   so and still classifies, and the next visit loads f16 again;
// - Chromium finds nothing that stops the page from being installed (its own check);
// - first served by a host that sends no COOP/COEP, the page runs the CPU on one thread and
//   says why; once the service worker serves it, the page is cross-origin isolated, runs the
//   threaded CPU module on one thread per core (so says its backend line) and still classifies;
// - a panic on a thread of that module's pool stops the classifier with a message on the
//   photo's card, and a new one classifies again (instead of the page waiting for ever);
// - after one visit the server is stopped: the page opens again from the browser, loads its
//   weights (the f16 copy picked) from the cache and classifies a sample, with no network;
// - at phone width (390 px) nothing sticks out sideways; the screenshot is saved;
// - a copy picked on an earlier visit that no longer downloads (an HTTP 404) is forgotten,
//   and the page loads the default copy instead of staying without weights.
//   node tests/e2e/offline.mjs SITE_DIR SCREENSHOT.png
import { mkdtemp } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, launchChromiumWithProfile, runAll, serveDir, weightsLoaded } from "./browser.mjs";

const [site, screenshot] = process.argv.slice(2);
const server = await serveDir(site);
const SHAPES = ["star", "crescent", "checkerboard", "ring"];
const PHOTOS = ["cat", "coffee", "rocket", "astronaut"];

/** Clicks the sample `name`; resolves to its card's top class label, or its error. */
async function classifySample(page, name) {
  const before = await page.locator(".card").count();
  await page.click(`button.sample[data-src$="/${name}.${SHAPES.includes(name) ? "png" : "jpg"}"]`);
  await page.waitForFunction((n) => document.querySelectorAll(".card").length > n &&
    document.querySelector(".card").dataset.done, before, { timeout: 120_000 });
  return page.evaluate(() => {
    const card = document.querySelector(".card");
    return card.querySelector(".error")?.textContent ?? card.querySelector(".row .label")?.textContent;
  });
}

// Installability is judged only outside incognito, so the browser keeps a profile.
async function check() {
  const failures = [];
  const profile = await mkdtemp(join(tmpdir(), "offline-e2e-"));
  const context = await launchChromiumWithProfile(profile, { webgpu: false, viewport: { width: 1000, height: 900 } });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    // The pool panic's check below makes one trap on purpose, on a thread of the pool.
    let poolTrapExpected = false;
    page.on("pageerror", (e) => {
      if (!(poolTrapExpected && e.message === "unreachable")) failures.push(`page error: ${e.message}`);
    });
    page.on("console", (m) => m.type() === "error" && console.log(`[page] ${m.text()}`));
    const workers = [];
    page.on("worker", (w) => workers.push(w));
    await page.goto(server.origin);
    const weights = await weightsLoaded(page);
    if (!/^Weights: /.test(weights)) return [`no weights: ${weights}`];
    const unisolated = await page.textContent("#backend");
    if (!/on one thread \(the page is not cross-origin isolated/.test(unisolated)) failures.push(`not isolated yet: "${unisolated}"`);
    else console.log(`[isolation] before the service worker: ${unisolated}`);

    for (const name of [...SHAPES, ...PHOTOS]) {
      const top = await classifySample(page, name);
      if (SHAPES.includes(name) ? top !== name : !top || /could not|error/i.test(top)) failures.push(`sample ${name}: ${top}`);
      else console.log(`[samples] ${name}: top class ${top}`);
    }
    const cold = await page.textContent("#cold-start");
    if (!/WebAssembly ready \d+\.\d\d s .*weights \d+\.\d MB .* in \d+\.\d\d s.*first result \d+\.\d\d s/.test(cold)) failures.push(`cold start: "${cold}"`);
    else console.log(`[cold start] ${cold}`);

    const offered = await page.$$eval("#weights-dtype option", (os) => os.map((o) => o.textContent));
    const shown = await page.isVisible("#weights-dtype");
    if (!shown || offered.length !== 2 || !/^int8, 1\.3 MB$/.test(offered[0]) || !/^f16, \d\.\d MB$/.test(offered[1])) {
      failures.push(`the weights' copies offered: ${shown ? JSON.stringify(offered) : "no choice shown"}`);
    } else if (!/ int8 weights\.$/.test(weights)) {
      failures.push(`the default copy is not int8: ${weights}`);
    } else {
      await page.selectOption("#weights-dtype", "f16");
      await page.waitForFunction(() => / f16 weights\./.test(document.getElementById("weights").textContent) ||
        document.getElementById("weights").classList.contains("error"), null, { timeout: 120_000 });
      const f16 = await page.textContent("#weights");
      const top = await classifySample(page, "star");
      if (!/ f16 weights\.$/.test(f16) || top !== "star") failures.push(`picking f16: "${f16}", star sample: ${top}`);
      else console.log(`[dtype] offered ${offered.join(" and ")}; picked f16: ${f16} (star sample: ${top})`);
    }

    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    const { errors: manifestErrors } = await cdp.send("Page.getAppManifest");
    if (installabilityErrors.length || manifestErrors.length)
      failures.push(`not installable: ${JSON.stringify(installabilityErrors)} ${JSON.stringify(manifestErrors)}`);
    else console.log("[install] Chromium finds the page installable (manifest, icons, service worker)");

    await page.waitForFunction(() => document.body.dataset.offline === "ready" && navigator.serviceWorker.controller, null, { timeout: 60_000 });
    // Served by the service worker, the page is cross-origin isolated (COOP and COEP from
    // sw.js, as on a host that sends no headers), and still loads its weights and classifies.
    await page.reload();
    const isolation = await page.evaluate(() => [self.crossOriginIsolated, typeof SharedArrayBuffer]);
    const isolatedWeights = await weightsLoaded(page);
    const isolatedTop = await classifySample(page, "star");
    const threaded = await page.textContent("#backend");
    const cores = availableParallelism();
    const threadsSaid = cores > 1 ? new RegExp(`on ${cores} threads \\(WebAssembly threads`) : /on one thread/;
    if (isolation[0] !== true || isolation[1] !== "function" || !/^Weights: /.test(isolatedWeights) || isolatedTop !== "star" ||
        !threadsSaid.test(threaded)) {
      failures.push(`served by the service worker: crossOriginIsolated ${isolation}, ${isolatedWeights}, star sample: ${isolatedTop}, "${threaded}"`);
    } else {
      console.log(`[isolation] served by the service worker, the page is crossOriginIsolated (SharedArrayBuffer exists) and classifies: ${threaded}`);
    }
    // A panic on a thread of the threaded module's pool (as a bug there would panic): the
    // worker's own thread waits for that thread for ever, so only the module's panic hook can
    // tell the page. The card says the classifier stopped and was restarted, and the new
    // worker classifies on its threads again.
    const classifier = workers.filter((w) => /\/worker\.js/.test(w.url())).at(-1);
    if (cores < 2) {
      console.log("[pool panic] not checked: one core, so the page runs no pool");
    } else if (!classifier) {
      failures.push("pool panic: the page's classifier worker was not found");
    } else {
      await classifier.evaluate(async () => {
        const module = await import("./inception-web-threads.js");
        const handler = self.onmessage;
        self.onmessage = (event) => (event.data.type === "classify" ? module.crashTestOnAPoolThread() : handler(event));
      });
      poolTrapExpected = true;
      const panicked = await classifySample(page, "star");
      const afterPanic = await classifySample(page, "star");
      poolTrapExpected = false;
      const restarted = await page.textContent("#backend");
      if (!/stopped \(a thread of its pool panicked: a test of a panic on a thread of the pool\) on this image and was restarted/.test(panicked) ||
          afterPanic !== "star" || !threadsSaid.test(restarted)) {
        failures.push(`pool panic: the card said "${panicked}", then the star sample gave ${afterPanic}, "${restarted}"`);
      } else {
        console.log(`[pool panic] "${panicked}"; then the star sample: ${afterPanic}, ${restarted}`);
      }
    }
    server.close();
    // Really offline: what the service worker did not keep cannot be fetched.
    const reachable = await page.evaluate(() => fetch(`/not-kept-${Date.now()}.txt`).then(() => true, () => false));
    if (reachable) failures.push("the server still answers after it was stopped");
    await page.reload();
    const again = await weightsLoaded(page);
    if (!/^Weights: .*\(from cache\).* f16 weights\.$/.test(again)) failures.push(`offline, the picked f16 weights did not load from the cache: ${again}`);
    const offlineTop = await classifySample(page, "star");
    const offlineBackend = await page.textContent("#backend");
    if (offlineTop !== "star") failures.push(`offline, the star sample gave ${offlineTop}`);
    else if (!threadsSaid.test(offlineBackend)) failures.push(`offline, not the threaded module: "${offlineBackend}"`);
    else console.log(`[offline] the page opened, loaded its weights from the cache and classified a sample: ${offlineTop}`);

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) failures.push(`at 390 px the page is ${overflow} px too wide`);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`[phone width] nothing sticks out at 390 px; screenshot: ${screenshot}`);
  } finally {
    await context.close();
  }
  return failures;
}

// Its own server (check() stops the first) and no service worker, so that the route is seen.
async function checkStalePick() {
  const failures = [];
  const own = await serveDir(site);
  const browser = await launchChromium({ webgpu: false });
  try {
    const context = await browser.newContext({ serviceWorkers: "block" });
    const page = await context.newPage();
    const weightsSay = (pattern) => page.waitForFunction((p) => new RegExp(p).test(document.getElementById("weights").textContent),
      pattern, { timeout: 120_000 });
    await page.goto(own.origin);
    await weightsLoaded(page);
    await page.selectOption("#weights-dtype", "f16");
    await weightsSay(" f16 weights\\.");
    await context.route("**/inception-resnet-v2-shapes-f16.bpk", (route) => route.fulfill({ status: 404, body: "" }));
    await page.evaluate(() => caches.delete("inception-weights-v1"));
    await page.reload();
    await weightsSay(" int8 weights\\.");
    const picked = await page.inputValue("#weights-dtype");
    const stored = await page.evaluate(() => localStorage.getItem("inception-weights-dtype"));
    if (picked !== "int8" || stored !== null) failures.push(`after the f16 copy failed: picked ${picked}, stored ${stored}`);
    else console.log("[stale pick] the f16 copy answered 404 on the next visit: the pick was forgotten and int8 loaded");
  } catch (e) {
    failures.push(`stale pick: ${e.message}`);
  } finally {
    await browser.close();
    own.close();
  }
  return failures;
}

await runAll(["offline", "stale pick"], (run) => (run === "offline" ? check() : checkStalePick()), server);
