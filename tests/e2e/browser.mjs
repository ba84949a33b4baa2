// What the browser scripts share: a static file server on loopback and Debian's Chromium,
// with or without WebGPU.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".css": "text/css", ".json": "application/json", ".webmanifest": "application/manifest+json",
  ".png": "image/png", ".jpg": "image/jpeg", ".md": "text/markdown; charset=utf-8",
};

/** The Content-Security-Policy of the site's page (its meta tag), or null. */
export async function pagePolicy(dir) {
  const html = await readFile(join(dir, "index.html"), "utf8").catch(() => "");
  return html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)"/)?.[1] ?? null;
}

/** Serves `dir` on 127.0.0.1 (a free port); resolves to {origin, close()}. Every response
 * carries the page's Content-Security-Policy as a header, as `trunk serve` sends it: the
 * worker runs under it too. `isolated`: COOP and COEP as well, as `trunk serve` and hosts
 * that read the site's _headers send them (the page is cross-origin isolated at once: the
 * threaded CPU module can run); without them the server is a host that lets a site set no
 * header (GitHub Pages), where isolation comes from the service worker from the second load on. */
export async function serveDir(dir, { isolated = false } = {}) {
  const policy = await pagePolicy(dir);
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(dir, path);
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": body.length,
        ...(policy ? { "content-security-policy": policy } : {}),
        ...(isolated ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {}),
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  // close() also ends kept-alive connections: a closed server is one that a browser cannot reach.
  const close = () => { server.close(); server.closeAllConnections(); };
  return { origin: `http://127.0.0.1:${server.address().port}`, close };
}

/** Flags that give headless Chromium a WebGPU adapter here (SwiftShader, on the CPU). */
export const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader"];
/** A browser without WebGPU: Chromium with it switched off offers no adapter. */
export const NO_WEBGPU_FLAGS = ["--disable-blink-features=WebGPU"];

/** Debian's Chromium, headless, with `--no-sandbox` (CI runs as root); `args` are added to
 * its flags. */
function chromiumOptions({ webgpu = true, args = [] } = {}) {
  return {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run", ...(webgpu ? WEBGPU_FLAGS : NO_WEBGPU_FLAGS), ...args],
  };
}

/** Launches that Chromium (see chromiumOptions). */
export function launchChromium(options) {
  return chromium.launch(chromiumOptions(options));
}

/** The same Chromium with a profile kept in `profile` (a folder), as a browser context. */
export function launchChromiumWithProfile(profile, { viewport, ...options } = {}) {
  return chromium.launchPersistentContext(profile, { ...chromiumOptions(options), viewport });
}

/** Waits until the page has loaded its weights (or said why not); returns the status line. */
export async function weightsLoaded(page, timeout = 300_000) {
  await page.waitForFunction(() => /Weights: /.test(document.getElementById("weights").textContent) ||
    document.getElementById("weights").classList.contains("error"), null, { timeout });
  return page.textContent("#weights");
}

/** Drops files onto the page as a user dragging them from a file manager would: each
 * file is `{ name, bytes }`. The bytes travel as base64: as an array of numbers, a file of
 * a few MB takes minutes to serialise. */
export async function dropFiles(page, files) {
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const text = atob(f.base64);
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      dt.items.add(new File([bytes], f.name));
    }
    window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files.map((f) => ({ name: f.name, base64: Buffer.from(f.bytes).toString("base64") })));
}

/** Aborts, and records in `foreign`, every request that leaves `origin`. */
export async function keepToOrigin(page, origin, foreign) {
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("blob:") || url.startsWith("data:")) return route.continue();
    foreign.push(url);
    return route.abort();
  });
}

/**
 * Runs `check(run)` for each run (each returns its failures), prints one closing line per
 * run ("1 passed, 0 failed" or "0 passed, 1 failed"), closes the server and exits non-zero
 * if any run failed.
 */
export async function runAll(runs, check, server) {
  let failed = 0;
  try {
    for (const run of runs) {
      const failures = await check(run);
      if (failures.length) {
        console.error(failures.join("\n"));
        console.log("0 passed, 1 failed");
        failed++;
      } else {
        console.log("1 passed, 0 failed");
      }
    }
  } finally {
    server.close();
  }
  process.exit(failed ? 1 : 0);
}
