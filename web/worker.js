// The Web Worker that owns the network. Messages in:
//   {type: "load-default"}                     weights listed in weights/manifest.json
//   {type: "load-bytes", name, bytes}          a weights file the user dropped
//   {type: "classify", id, bytes}              an image file
// Messages out: {type: "backend"|"progress"|"weights"|"result"|"error", ...}.
import init, { Classifier } from "./inception-web.js";

const CACHE = "inception-weights-v1";
let classifier = null;
const ready = init();

function post(msg) { self.postMessage(msg); }

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// Downloads with a progress report, or takes the copy in the Cache API from an earlier visit.
async function fetchWeights(url, size) {
  const cache = "caches" in self ? await caches.open(CACHE) : null;
  const cached = cache && (await cache.match(url));
  if (cached) return { bytes: new Uint8Array(await cached.arrayBuffer()), fromCache: true };
  const response = await fetch(url);
  if (!response.ok) throw new Error(`downloading ${url} failed: HTTP ${response.status}`);
  const total = Number(response.headers.get("content-length")) || size || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    post({ type: "progress", loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) { bytes.set(c, offset); offset += c.length; }
  return { bytes, fromCache: false, cache };
}

async function load(bytes, label) {
  await ready;
  const started = performance.now();
  // The weights in use stay until the new ones have loaded: a bad file changes nothing.
  const loaded = await Classifier.load(bytes, true);
  classifier?.free();
  classifier = loaded;
  const info = classifier.info();
  post({ type: "backend", backend: info.backend });
  post({ type: "weights", info, label, ms: performance.now() - started });
}

async function loadDefault() {
  // Development servers answer a missing file with index.html: anything that is not a
  // manifest means no weights are shipped.
  const res = await fetch("weights/manifest.json");
  const manifest = res.ok ? await res.json().catch(() => null) : null;
  if (!manifest?.file || !manifest?.sha256) {
    post({ type: "weights", info: null, label: "none" });
    return;
  }
  const url = `weights/${manifest.file}`;
  const { bytes, fromCache, cache } = await fetchWeights(url, manifest.size);
  const hash = await sha256Hex(bytes);
  if (hash !== manifest.sha256) {
    if (cache) await cache.delete(url);
    throw new Error(`weights ${manifest.file} are damaged (sha256 ${hash.slice(0, 12)}…, expected ${manifest.sha256.slice(0, 12)}…)`);
  }
  if (cache && !fromCache) await cache.put(url, new Response(bytes));
  await load(bytes, `${manifest.description || manifest.file}${fromCache ? " (from cache)" : ""}`);
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "load-default") await loadDefault();
    else if (data.type === "load-bytes") await load(new Uint8Array(data.bytes), data.name);
    else if (data.type === "classify") {
      if (!classifier) throw new Error("no weights are loaded yet");
      const result = await classifier.classify(new Uint8Array(data.bytes));
      post({ type: "result", id: data.id, result });
    }
  } catch (e) {
    post({ type: "error", id: data.id, during: data.type, message: String(e?.message ?? e) });
  }
};
