// End to end in a real browser: serve the built site on loopback, load weights, drop two
// images onto the page, wait for the answers and compare them with the native CLI's.
//   node tests/e2e/page.mjs SITE_DIR EXPECTED.jsonl IMAGE1 IMAGE2 SCREENSHOT.png
// SITE_DIR is `trunk build --release` output with weights/manifest.json in it; EXPECTED is
// `inception classify --json` for the same weights and images, one line per image.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { basename, extname, join, normalize } from "node:path";

const [site, expectedPath, img1, img2, screenshot] = process.argv.slice(2);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json" };

const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  let file = join(site, path);
  try {
    if ((await stat(file)).isDirectory()) file = join(file, "index.html");
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": body.length });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const foreign = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("blob:") || url.startsWith("data:")) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  page.on("console", (m) => console.log(`[page] ${m.text()}`));
  page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));

  await page.goto(origin);
  await page.waitForFunction(() => /Weights: /.test(document.getElementById("weights").textContent) ||
    document.getElementById("weights").classList.contains("error"), null, { timeout: 300_000 });
  console.log(`status: ${await page.textContent("#backend")} | ${await page.textContent("#weights")}`);

  // Drop two images onto the page, as a user dragging them from a file manager would.
  const files = await Promise.all([img1, img2].map(async (p) => ({ name: basename(p), data: [...await readFile(p)] })));
  const started = Date.now();
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([new Uint8Array(f.data)], f.name, { type: "image/png" }));
    window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
  await page.waitForFunction(() => document.querySelectorAll(".card[data-done]").length === 2, null, { timeout: 1_500_000 });
  console.log(`two results after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const shown = await page.$$eval(".card", (cards) => cards.map((c) => ({
    name: c.querySelector("h2").textContent,
    error: c.querySelector(".error")?.textContent ?? null,
    top5: [...c.querySelectorAll(".row")].map((r) => Number(r.dataset.index)),
  })));
  const expected = (await readFile(expectedPath, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  for (const e of expected) {
    const name = basename(e.image);
    const s = shown.find((c) => c.name === name);
    const want = e.top5.map((p) => p.index);
    if (!s) failures.push(`${name}: no card`);
    else if (s.error) failures.push(`${name}: error shown: ${s.error}`);
    else if (JSON.stringify(s.top5) !== JSON.stringify(want)) failures.push(`${name}: page top-5 ${s.top5} != CLI ${want}`);
    else console.log(`${name}: top-5 ${s.top5} equals the CLI's`);
  }
  if (foreign.length) failures.push(`requests outside ${origin}: ${foreign.join(", ")}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
  server.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  console.log("0 passed, 1 failed");
  process.exit(1);
}
console.log("1 passed, 0 failed");
