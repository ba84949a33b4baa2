// Drives the page's benchmark mode (web/bench.js) in headless Chromium, one fresh browser
// per backend so that every run is a cold start, and prints one JSON line per backend. It
// exits with an error when a run fails or its result is incomplete or on another backend.
//   node tests/e2e/bench.mjs SITE_DIR BACKENDS RUNS WARMUP [INPUT_URL EXPECTED_URL]
// BACKENDS is a comma list of `webgpu` and `cpu`, each with the suffix `-unfolded` (the
// network as loaded, BatchNorm not folded), `cpu` also with `-1thread` (the single-threaded
// module instead of the threaded one) and `-unfused` (burn's own convolution operations instead
// of the fused convolution); the URLs are relative to the site. A WebGPU result must count its
// compute dispatches. Every CPU run of one call must give the logits of the first (within 1e-4): the
// threaded module and the single-threaded one compute the same network.
import { availableParallelism } from "node:os";
import { keepToOrigin, launchChromium, serveDir } from "./browser.mjs";

/** `cpu-1thread-unfused` → {backend: "cpu", oneThread: true, fused: false, folded: true}. */
function parse(name) {
  const m = /^(webgpu|cpu)((?:-1thread|-unfused|-unfolded)*)$/.exec(name);
  // The thread count and the fused convolution are the CPU path's.
  if (!m || (m[1] === "webgpu" && /-1thread|-unfused/.test(m[2]))) {
    throw new Error(`unknown backend ${name}: webgpu[-unfolded] or cpu[-1thread][-unfused][-unfolded]`);
  }
  const has = (suffix) => m[2].includes(suffix);
  return { backend: m[1], oneThread: has("-1thread"), fused: !has("-unfused"), folded: !has("-unfolded") };
}

/** What is wrong with a benchmark result, or null: it must be complete and on the backend asked for. */
function check(r, name, runs) {
  const want = parse(name);
  if (r.fused !== want.fused) return `ran with fused=${r.fused}, asked for ${name}`;
  if (r.folded !== want.folded) return `ran with folded=${r.folded}, asked for ${name}`;
  const finite = (x) => Number.isFinite(x) && x >= 0;
  if (r.backend !== want.backend) return `ran on ${r.backend} (${r.fallback_reason}), not ${want.backend}`;
  // The page is cross-origin isolated here (the server sends COOP/COEP): the CPU gets
  // one thread per core that Chromium reports, which is this machine's count.
  const threads = want.oneThread ? 1 : availableParallelism();
  if (r.backend === "cpu" && r.threads !== threads) return `ran on ${r.threads} CPU threads (${r.threads_reason}), not ${threads}`;
  if (r.times_ms?.length !== runs || !r.times_ms.every((t) => finite(t) && t > 0)) return `bad times ${r.times_ms}`;
  if (!Object.values(r.cold ?? {}).every(finite)) return `bad cold-start figures ${JSON.stringify(r.cold)}`;
  if (!(r.median_ms > 0)) return `bad median ${r.median_ms}`;
  const counted = (n) => Number.isInteger(n) && n > 0;
  if (r.backend === "webgpu" && !(counted(r.dispatches?.first_pass) && counted(r.dispatches?.per_pass))) {
    return `bad dispatch counts ${JSON.stringify(r.dispatches)}`;
  }
  if (!(r.logits?.length > 0) || !r.logits.every(Number.isFinite)) return `bad logits ${r.logits}`;
  return null;
}

const maxAbsDiff = (a, b) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

const [site, backends = "webgpu,cpu", runs = "5", warmup = "1", input, expected] = process.argv.slice(2);
const server = await serveDir(site, { isolated: true });
let failed = false;
let cpuLogits = null;
try {
  for (const backend of backends.split(",")) {
    const browser = await launchChromium({ webgpu: true });
    try {
      const page = await browser.newPage();
      await keepToOrigin(page, server.origin, []);
      page.on("console", (m) => process.stderr.write(`[${backend}] ${m.text()}\n`));
      const want = parse(backend);
      const q = new URLSearchParams({ bench: "", backend: want.backend, runs, warmup });
      if (!want.fused) q.set("fused", "0");
      if (!want.folded) q.set("fold", "0");
      if (want.oneThread) q.set("threads", "1");
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
        const r = JSON.parse(json);
        let problem = check(r, backend, Number(runs));
        if (!problem && r.backend === "cpu") {
          cpuLogits ??= r.logits;
          const diff = r.logits.length === cpuLogits.length ? maxAbsDiff(r.logits, cpuLogits) : Infinity;
          if (!(diff < 1e-4)) problem = `its logits differ from the first CPU run's by ${diff}`;
        }
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
