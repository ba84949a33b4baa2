// The npm package (tools/build_package.sh into crates/web/pkg) used as another web app
// would, in Chromium without WebGPU:
// - the example page (examples/web-package, which imports only the package) loads the demo
//   weights by URL and gives a photo its top-5 and the top class's activation map;
// - the API in the page itself: weights by URL (size and sha256 checked: a damaged file and
//   a missing one are errors), from bytes, and by name from a loopback Hub stand-in
//   (tests/hub/standin.py); a Blob, an ImageBitmap, an <img> and ImageData all give the same
//   top-k, with as many maps; a top-k of 0 and a broken image are errors, and the classifier
//   still answers after them.
//   node tests/e2e/package.mjs REPO_ROOT PYTHON
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { launchChromium, runAll, serveDir } from "./browser.mjs";

const [repo, python] = process.argv.slice(2);
const REPO = "example/shapes-f16";
const f16 = join(repo, "weights/inception-resnet-v2-shapes-f16.bpk");
const f16Bytes = await readFile(f16);
const f16Hash = createHash("sha256").update(f16Bytes).digest("hex");
const standin = spawn(python, [join(repo, "tests/hub/standin.py"), "--repo", `${REPO}=${f16}`],
  { stdio: ["ignore", "pipe", "inherit"] });
process.on("exit", () => standin.kill());
const { hub } = JSON.parse(await new Promise((ok) => createInterface({ input: standin.stdout }).once("line", ok)));
const server = await serveDir(repo);

async function check() {
  const failures = [];
  const browser = await launchChromium({ webgpu: false });
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && console.log(`[page] ${m.text()}`));

    await page.goto(`${server.origin}/examples/web-package/`);
    await page.waitForFunction(() => !/^Loading/.test(document.getElementById("status").textContent), null, { timeout: 120_000 });
    const status = await page.textContent("#status");
    if (status !== "inception-resnet-v2, 10 classes, int8 weights, on cpu.") return [`example page: ${status}`];
    await page.setInputFiles("#file", join(repo, "web/samples/star.png"));
    await page.waitForFunction(() => document.querySelectorAll("#top li").length > 0, null, { timeout: 120_000 });
    const top = await page.$$eval("#top li", (lis) => lis.map((li) => li.textContent));
    const map = await page.$eval("#map", (c) => [c.width, c.height, c.getBoundingClientRect().width]);
    if (top.length !== 5 || !/^star: \d+\.\d%$/.test(top[0]) || !(map[0] > 0 && map[1] > 0 && map[2] > 0)) {
      failures.push(`example page: top ${JSON.stringify(top)}, map ${map}`);
    } else {
      console.log(`[example] ${status} star.png: ${top.join(", ")}; map ${map[0]}x${map[1]} cells drawn ${map[2].toFixed(0)} px wide`);
    }

    const results = await page.evaluate(async ({ hub, REPO, f16Size, f16Hash }) => {
      const { InceptionClassifier } = await import("inception-web");
      const out = {};
      const attempt = async (name, f) => {
        try { out[name] = { value: await f() }; } catch (e) { out[name] = { error: e.message }; }
      };
      const c = await InceptionClassifier.create({ gpu: false });
      const f16Url = "../../weights/inception-resnet-v2-shapes-f16.bpk";
      await attempt("damaged", () => c.loadUrl(f16Url, { size: f16Size, sha256: "0".repeat(64) }));
      await attempt("missing", () => c.loadUrl("../../weights/none.bpk"));
      await attempt("url", async () => (await c.loadUrl(f16Url, { size: f16Size, sha256: f16Hash })).dtype);
      const star = await (await fetch("../../web/samples/star.png")).blob();
      const brief = (r) => ({ top: r.top.map((p) => p.label), maps: r.maps.length });
      await attempt("blob", async () => brief(await c.classify(star, { topK: 3 })));
      const bitmap = await createImageBitmap(star);
      await attempt("bitmap", async () => brief(await c.classify(bitmap, { topK: 3 })));
      out.bitmapKept = bitmap.width > 0;
      const img = new Image();
      img.src = URL.createObjectURL(star);
      await attempt("img", async () => brief(await c.classify(img, { topK: 3 })));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      const data = canvas.getContext("2d").getImageData(0, 0, bitmap.width, bitmap.height);
      await attempt("imageData", async () => brief(await c.classify(data, { topK: 3 })));
      await attempt("topK0", () => c.classify(star, { topK: 0 }));
      await attempt("broken", () => c.classify(new Blob(["not an image"])));
      await attempt("after", async () => brief(await c.classify(star)).top[0]);
      const int8 = await (await fetch("../../weights/inception-resnet-v2-shapes-int8.bpk")).arrayBuffer();
      await attempt("bytes", async () => (await c.loadBytes(new Uint8Array(int8))).dtype);
      await attempt("hubMissing", () => c.loadHub("example/none", { endpoint: hub }));
      await attempt("hub", async () => (await c.loadHub(REPO, { endpoint: hub })).dtype);
      await attempt("hubStar", async () => brief(await c.classify(star)).top[0]);
      c.terminate();
      await attempt("terminated", () => c.classify(star));
      return out;
    }, { hub, REPO, f16Size: f16Bytes.length, f16Hash });

    const expect = (name, ok, what) => {
      const r = results[name];
      if (!ok(r)) failures.push(`${name}: ${JSON.stringify(r)} (expected ${what})`);
      else console.log(`[api] ${name}: ${JSON.stringify(r.value ?? r.error ?? r)}`);
    };
    const sameTop = (r) => r?.value && r.value.top.length === 3 && r.value.top[0] === "star" && r.value.maps === 3 &&
      JSON.stringify(r.value.top) === JSON.stringify(results.blob.value?.top);
    expect("damaged", (r) => /damaged/.test(r?.error), "a damaged-file error");
    expect("missing", (r) => /HTTP 404/.test(r?.error), "an HTTP 404 error");
    expect("url", (r) => r?.value === "f16", "f16 weights");
    for (const name of ["blob", "bitmap", "img", "imageData"]) expect(name, sameTop, "star first, 3 classes and 3 maps, as the Blob");
    if (!results.bitmapKept) failures.push("the caller's ImageBitmap was taken");
    expect("topK0", (r) => /top_k is 0/.test(r?.error), "a top-k error");
    expect("broken", (r) => typeof r?.error === "string" && r.error.length > 0, "an image error");
    expect("after", (r) => r?.value === "star", "star after the errors");
    expect("bytes", (r) => r?.value === "int8", "int8 weights from bytes");
    expect("hubMissing", (r) => /is not on/.test(r?.error), "a not-on-the-Hub error");
    expect("hub", (r) => r?.value === "f16", "f16 weights from the Hub stand-in");
    expect("hubStar", (r) => r?.value === "star", "star");
    expect("terminated", (r) => /terminated/.test(r?.error), "an error after terminate()");
  } finally {
    await browser.close();
  }
  return failures;
}

await runAll(["package"], check, server);
