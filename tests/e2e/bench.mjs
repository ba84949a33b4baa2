// Drives the page's benchmark mode (web/bench.js) in headless Chromium, one fresh browser
// per backend so that every run is a cold start, and prints one JSON line per backend. It
// exits with an error when a run fails or its result is incomplete or on another backend.
//   node tests/e2e/bench.mjs SITE_DIR BACKENDS RUNS WARMUP [INPUT_URL EXPECTED_URL]
// BACKENDS is a comma list of `webgpu`, `cpu` and `cpu-unfused` (the CPU path on burn's own
// convolution operations instead of the fused convolution); the URLs are relative to the site.
import { keepToOrigin, launchChromium, serveDir } from "./browser.mjs";

/** What is wrong with a benchmark result, or null: it must be complete and on the backend asked for. */
function check(r, name, runs) {
  const backend = name.replace(/-unfused$/, "");
  if (r.fused !== !name.endsWith("-unfused")) return `ran with fused=${r.fused}, asked for ${name}`;
  const finite = (x) => Number.isFinite(x) && x >= 0;
  if (r.backend !== backend) return `ran on ${r.backend} (${r.fallback_reason}), not ${backend}`;
  if (r.times_ms?.length !== runs || !r.times_ms.every((t) => finite(t) && t > 0)) return `bad times ${r.times_ms}`;
  if (!Object.values(r.cold ?? {}).every(finite)) return `bad cold-start figures ${JSON.stringify(r.cold)}`;
  if (!(r.median_ms > 0)) return `bad median ${r.median_ms}`;
  return null;
}

const [site, backends = "webgpu,cpu", runs = "5", warmup = "1", input, expected] = process.argv.slice(2);
const server = await serveDir(site);
let failed = false;
try {
  for (const backend of backends.split(",")) {
    const browser = await launchChromium({ webgpu: true });
    try {
      const page = await browser.newPage();
      await keepToOrigin(page, server.origin, []);
      page.on("console", (m) => process.stderr.write(`[${backend}] ${m.text()}\n`));
      const q = new URLSearchParams({ bench: "", backend: backend.replace(/-unfused$/, ""), runs, warmup });
      if (backend.endsWith("-unfused")) q.set("fused", "0");
      if (input) q.set("input", input);
      if (expected) q.set("expected", expected);
      let last = "";
      const progress = setInterval(async () => {
        const s = await page.textContent("#bench-status").catch(() => "");
        if (s && s !== last) process.stderr.write(`[${backend}] ${(last = s)}\n`);
      }, 5000);
      await page.goto(`${server.origin}/?${q}`);
      await page.waitForSelector("body[data-bench]", { timeout: 3_600_000, state: "attached" });
      clearInterval(progress);
      if ((await page.getAttribute("body", "data-bench")) === "done") {
        const json = await page.textContent("#bench-json");
        const problem = check(JSON.parse(json), backend, Number(runs));
        if (problem) {
          console.error(`[${backend}] ${problem}`);
          failed = true;
        }
        console.log(json);
      } else {
        console.log(JSON.stringify({ backend, error: await page.textContent("#bench-status") }));
        failed = true;
      }
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
process.exit(failed ? 1 : 0);
