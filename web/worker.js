// The Web Worker that owns the network. Messages in, each with an `id`:
//   {type: "load-default", dtype}              weights listed in weights/manifest.json, the copy
//                                              stored at `dtype` when it lists one (else its default)
//   {type: "load-bytes", name, bytes}          a weights file the user dropped
//   {type: "load-hub", repo, endpoint}         a checkpoint from the Hugging Face Hub, by name
//   {type: "clear-cache"}                      forget every cached weights file
//   {type: "classify", bytes}                  an image file
//   {type: "classify-rgba", rgba, width, height}  a camera frame's RGBA pixels
//   {type: "bench", ...}                       the benchmark mode (see bench.js)
// Messages out: {type: "backend"|"progress"|"weights"|"warmed-up"|"result"|"bench-result"|"cleared"|"error"|"crashed", ...};
// and, from the threaded module, {type: "panic-channel", name}: where its pool's panics are said.
// "weights", "result", "bench-result", "cleared" and "error" carry the `id` of the message they answer.
// Messages run one at a time, in order: a load never frees the network under a classification.
// After a trap of the wasm module (a panic, memory exhausted) its state is undefined: the
// worker says "crashed" and closes, and the page starts a new one.
import { checkHash as checkBytes, download as downloadBytes, hubFileInfo, HUB_FILE } from "./fetch-weights.js";

const CACHE = "inception-weights-v1";
let classifier = null;
const workerStarted = performance.now();

// The site has two WebAssembly modules of the web crate, and this worker runs one:
//   inception-web.js          WebGPU, with the CPU on one thread as its fallback;
//   inception-web-threads.js  the CPU on every core (WebAssembly threads: a rayon pool of Web
//                             Workers on shared memory; tools/build_threads.sh), for
//                             browsers without WebGPU. Threads need SharedArrayBuffer, which
//                             only a cross-origin isolated page has (COOP/COEP: sw.js adds
//                             them on hosts that send none).
// The page may ask through this worker's query: `gpu=0` the CPU even where WebGPU is (the
// benchmark's backend=cpu), `threads=N` that many CPU threads (1: the single-threaded path).
// `cpu` says which CPU path runs and why; the page shows it.
const query = new URL(self.location.href).searchParams;

async function webGpuAdapter() {
  if (!navigator.gpu) return "This browser has no WebGPU (navigator.gpu is missing).";
  try {
    if (await navigator.gpu.requestAdapter()) return null;
  } catch (e) {
    console.warn(`WebGPU adapter request failed: ${e?.message ?? e}`);
  }
  return "This browser offers no usable WebGPU adapter (it may be switched off, or the GPU is not supported).";
}

// Whether and how many threads the CPU path gets, and why.
function cpuThreads() {
  const asked = query.has("threads") ? Number(query.get("threads")) : null;
  const cores = navigator.hardwareConcurrency || 1;
  const threads = Number.isInteger(asked) && asked >= 1 ? Math.min(asked, 64) : cores;
  if (threads <= 1) return { threads: 1, why: asked ? "one thread was asked for" : "this device reports one core" };
  if (!self.crossOriginIsolated) {
    return { threads: 1, why: "the page is not cross-origin isolated, so WebAssembly threads (SharedArrayBuffer) are off" };
  }
  return { threads, why: asked ? "WebAssembly threads, as many as asked for" : "WebAssembly threads, one per core" };
}

async function startModule() {
  const noGpu = query.get("gpu") === "0" ? "CPU requested" : await webGpuAdapter();
  const cpu = { ...cpuThreads(), no_gpu: noGpu };
  if (noGpu && cpu.threads > 1) {
    try {
      const module = await import("./inception-web-threads.js");
      await module.default();
      await module.initThreadPool(cpu.threads);
      // A panic on a thread of the pool leaves this worker waiting for that thread for ever:
      // the module says it on a channel of this worker's own, which the page listens to.
      const channel = `inception-pool-panic-${crypto.randomUUID()}`;
      module.reportPoolPanicsTo(channel);
      post({ type: "panic-channel", name: channel });
      return { module, cpu };
    } catch (e) {
      // The single-threaded module still works: say why the threads are not there.
      console.warn(`the threaded CPU module failed to start: ${e?.message ?? e}`);
      cpu.why = `the threaded module failed to start (${e?.message ?? e})`;
      cpu.threads = 1;
    }
  }
  // The WebGPU module's CPU fallback (its wgpu set-up can still fail) has one thread.
  if (cpu.threads > 1) Object.assign(cpu, { threads: 1, why: "the WebGPU module's CPU fallback is single-threaded" });
  const module = await import("./inception-web.js");
  await module.default();
  return { module, cpu };
}

const ready = startModule();
const wasmReady = ready.then(() => performance.now() - workerStarted);
// Times the page shows (its cold-start line) are absolute (ms since 1970), as the worker's
// clock starts later than the page's.
const now = () => performance.timeOrigin + performance.now();
const wasmReadyAt = ready.then(now);

function post(msg) { self.postMessage(msg); }

const openCache = async () => ("caches" in self ? caches.open(CACHE) : null);

// Downloads with a progress report, or takes the copy in the Cache API from an earlier visit.
async function fetchWeights(url, size) {
  const cache = await openCache();
  const cached = cache && (await cache.match(url));
  if (cached) return { bytes: new Uint8Array(await cached.arrayBuffer()), fromCache: true };
  return { bytes: await download(url, size), fromCache: false, cache };
}

// `size`: what the manifest (or the Hub) announced; a server that sends more is cut off.
const download = (url, size) => downloadBytes(url, size, (loaded, total) => post({ type: "progress", loaded, total }));

// Keeps downloaded weights for the next visit. The put of a few hundred MB is awaited, and a
// refusal (a full storage quota) is said, not swallowed: the weights still load this time.
async function keep(cache, key, bytes, headers = {}) {
  if (!cache) return "not kept for the next visit: this browser has no Cache API here";
  try {
    await cache.put(key, new Response(bytes, { headers: { "content-length": String(bytes.length), ...headers } }));
    return null;
  } catch (e) {
    return `not kept for the next visit: ${e?.name === "QuotaExceededError" ? "the browser's storage quota is full" : e?.message ?? e}`;
  }
}

// `fetched`: how the bytes came, `{ms, fromCache}` (null for a file the visitor dropped).
// `choices`: the dtypes and sizes the manifest stores these weights at (null otherwise).
async function load(bytes, label, id, warning = null, fetched = null, choices = null) {
  const { module, cpu } = await ready;
  const started = performance.now();
  // The weights in use stay until the new ones have loaded: a bad file changes nothing.
  const loaded = await module.Classifier.load(bytes, !cpu.no_gpu);
  classifier?.free();
  classifier = loaded;
  const info = classifier.info();
  const load_ms = performance.now() - started;
  post({ type: "backend", backend: backendOf(info, cpu) });
  const warms = info.backend.kind === "webgpu";
  const timing = {
    wasm_ready_at: await wasmReadyAt, bytes: bytes.length,
    source: fetched ? (fetched.fromCache ? "cache" : "download") : "file", fetch_ms: fetched?.ms ?? 0,
    load_ms, ready_at: now(), warms,
  };
  post({ type: "weights", id, info, label, warning, timing, choices });
  if (warms) await warmUp(info.input_size);
}

// On WebGPU the first pass compiles burn's shaders (seconds on a real GPU, more here): it
// runs on a grey frame once the weights are in, as part of their load job, so a photo
// dropped at once waits for it as it would have for its own first pass, and a photo
// dropped later is not that pass. The CPU has nothing to compile, and a pass there costs
// what the photo's would. A failure here is the first photo's to report, not the load's.
async function warmUp(size) {
  const started = performance.now();
  try {
    await classifier.classify_rgba(new Uint8Array(4 * size * size).fill(128), size, size, 1);
    post({ type: "warmed-up", ms: performance.now() - started });
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw e;
    console.warn(`the warm-up pass failed: ${e?.message ?? e}`);
  }
}

// Development servers answer a missing file with index.html: no manifest, or a page in its
// place, means no weights are shipped (null). Anything else must be a valid manifest: the
// model crate parses it and names the field at fault.
async function fetchManifest() {
  const { module } = await ready;
  const res = await fetch("weights/manifest.json", { cache: "no-store" });
  if (!res.ok || (res.headers.get("content-type") || "").includes("text/html")) return null;
  return module.parse_manifest(new Uint8Array(await res.arrayBuffer()));
}

// Bytes that are not what was announced are dropped from the cache too.
async function checkHash(bytes, expected, cache, url) {
  try {
    await checkBytes(bytes, expected);
  } catch (e) {
    if (cache) await cache.delete(url);
    throw e;
  }
}

// Every stored copy a manifest lists: its default first, then its variants.
const storedCopies = (manifest) => [
  { file: manifest.file, dtype: manifest.dtype, size: manifest.size, sha256: manifest.sha256 },
  ...(manifest.variants ?? []),
];

async function loadDefault(id, { dtype } = {}) {
  const manifest = await fetchManifest();
  if (!manifest) {
    post({ type: "weights", id, info: null, label: "none" });
    return;
  }
  const copies = storedCopies(manifest);
  const copy = copies.find((c) => c.dtype === dtype) ?? copies[0];
  const url = `weights/${copy.file}`;
  const started = performance.now();
  const { bytes, fromCache, cache } = await fetchWeights(url, copy.size);
  await checkHash(bytes, copy, cache, url);
  const fetched = { ms: performance.now() - started, fromCache };
  const warning = fromCache ? null : await keep(cache, url, bytes);
  // The page offers the other copies (`choices`) only for weights the manifest lists.
  const choices = copies.map(({ dtype, size }) => ({ dtype, size }));
  await load(bytes, `${manifest.description || copy.file}, ${megabytes(bytes.length)}${fromCache ? " (from cache)" : ""}`, id, warning, fetched, choices);
}

// The model's backend as the page shows it: WebGPU, or the CPU with its thread count and why.
function backendOf(info, cpu) {
  const b = info.backend;
  if (b.kind === "webgpu") return { kind: "webgpu", fallback_reason: null };
  // This worker knows why WebGPU is not in use when it chose the threaded module; the main
  // module's own reason (its wgpu set-up failed) otherwise.
  return { kind: "cpu", fallback_reason: cpu.no_gpu ?? b.fallback_reason, threads: cpu.threads, threads_reason: cpu.why };
}

const megabytes = (n) => `${(n / 1e6).toFixed(1)} MB`;
// A checkpoint by name from the Hub (tests point `endpoint` at a loopback stand-in), kept in
// the Cache API under its name: the next visit loads it with no request.
async function loadHub(id, { repo, endpoint }) {
  if (!/^https?:\/\/[^/]+$/.test(endpoint ?? "")) throw new Error(`the Hub address ${endpoint} is not an http(s) origin`);
  const key = `${endpoint}/${repo}/resolve/main/${HUB_FILE}`;
  const cache = await openCache();
  const cached = cache && (await cache.match(key));
  const host = new URL(endpoint).host;
  let bytes, expected, warning = null;
  const started = performance.now();
  if (cached) {
    bytes = new Uint8Array(await cached.arrayBuffer());
    expected = { file: `${repo}/${HUB_FILE}`, size: Number(cached.headers.get("x-linked-size")), sha256: cached.headers.get("x-linked-etag") };
  } else {
    expected = await hubFileInfo(endpoint, repo);
    bytes = await download(expected.url, expected.size);
  }
  await checkHash(bytes, expected, cache, key);
  if (!cached) {
    warning = await keep(cache, key, bytes, { "x-linked-etag": expected.sha256, "x-linked-size": String(expected.size) });
  }
  const origin = cached ? "from this browser's cache" : `downloaded from ${host}`;
  const fetched = { ms: performance.now() - started, fromCache: Boolean(cached) };
  await load(bytes, `${repo} ${origin}, ${megabytes(bytes.length)}, sha256 checked`, id, warning, fetched);
}

async function clearCache(id) {
  const cache = await openCache();
  let files = 0, bytes = 0;
  if (cache) {
    for (const request of await cache.keys()) {
      files++;
      bytes += Number((await cache.match(request))?.headers.get("content-length") ?? 0) || 0;
    }
    await caches.delete(CACHE);
  }
  post({ type: "cleared", id, files, bytes });
}

async function fetchF32(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Float32Array(await res.arrayBuffer());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// The benchmark: a cold start of the shipped weights (download past the Cache API, hash
// check, device set-up and upload, first result: burn compiles its shaders on first use),
// then `runs` timed passes on one input after `warmup` untimed ones (the first included).
// All durations in ms.
// On WebGPU it also counts the compute dispatches of a pass: the first (burn's autotuning
// runs candidate kernels) and the last timed one.
async function bench({ runs, warmup, fused, folded, inputUrl, expectedUrl }) {
  const wasm_init_ms = await wasmReady;
  const { module, cpu } = await ready;
  module.useFusedKernels(fused !== false);
  const dispatches = countDispatches();
  const manifest = await fetchManifest();
  if (!manifest) throw new Error("no weights/manifest.json to benchmark");
  let t = performance.now();
  // Past the browser's HTTP cache too: a cold download.
  const bytes = await download(`weights/${manifest.file}?nocache=${Date.now()}`, manifest.size);
  const download_ms = performance.now() - t;
  t = performance.now();
  await checkHash(bytes, manifest, null, null);
  const sha256_ms = performance.now() - t;
  t = performance.now();
  classifier?.free();
  classifier = null;
  const load = folded === false ? module.Classifier.load_unfolded : module.Classifier.load;
  classifier = await load(bytes, !cpu.no_gpu);
  const load_ms = performance.now() - t;
  const info = classifier.info();
  const backend = backendOf(info, cpu);
  post({ type: "backend", backend });
  const size = info.input_size;
  const input = inputUrl ? await fetchF32(inputUrl) : syntheticInput(size);
  if (input.length !== 3 * size * size) throw new Error(`the input has ${input.length} values, not 3 x ${size} x ${size}`);

  const timed = async () => {
    const start = performance.now();
    const before = dispatches?.count;
    const logits = await classifier.logits_for(input, size);
    return { ms: performance.now() - start, logits, dispatches: dispatches ? dispatches.count - before : null };
  };
  // The first result is the first warm-up pass (as in ONNX Runtime Web's harness).
  const passes = Math.max(1, warmup) + runs;
  const first = await timed();
  post({ type: "bench-progress", done: 1, total: passes, first_ms: first.ms });
  const times = [];
  let last = first;
  for (let done = 2; done <= passes; done++) {
    last = await timed();
    if (done > passes - runs) times.push(last.ms);
    post({ type: "bench-progress", done, total: passes });
  }
  let max_abs_diff = null;
  if (expectedUrl) {
    const want = await fetchF32(expectedUrl);
    if (want.length !== first.logits.length) throw new Error(`expected ${want.length} logits, got ${first.logits.length}`);
    max_abs_diff = Math.max(...want.map((w, i) => Math.abs(w - first.logits[i])));
  }
  const ms = median(times);
  return {
    engine: "inception-web (burn)", backend: backend.kind, fallback_reason: backend.fallback_reason ?? null,
    threads: backend.threads, threads_reason: backend.threads_reason,
    arch: info.arch, input_size: size, weights_bytes: bytes.length, fused: fused !== false, folded: folded !== false,
    cold: { wasm_init_ms, download_ms, sha256_ms, load_ms, first_result_ms: first.ms,
      shader_compile_ms: Math.max(0, first.ms - ms) },
    dispatches: backend.kind === "webgpu" ? { first_pass: first.dispatches, per_pass: last.dispatches } : null,
    warmup, runs, times_ms: times, median_ms: ms, images_per_s: 1000 / ms, max_abs_diff,
    logits: Array.from(first.logits),
  };
}

// Counts every compute dispatch sent to WebGPU in this worker from the first call on (one
// counter, whichever call asks), or returns null without WebGPU. wgpu calls these methods
// through the JavaScript objects (wasm-bindgen's glue looks the method up on each call), so
// wrapping the prototype's sees all of them.
let dispatchCounter = null;
function countDispatches() {
  const proto = self.GPUComputePassEncoder?.prototype;
  if (!proto || dispatchCounter) return dispatchCounter;
  dispatchCounter = { count: 0 };
  for (const name of ["dispatchWorkgroups", "dispatchWorkgroupsIndirect"]) {
    const original = proto[name];
    proto[name] = function (...args) {
      dispatchCounter.count++;
      return original.apply(this, args);
    };
  }
  return dispatchCounter;
}

// A smooth deterministic pattern in [-1, 1] when no input file is given.
function syntheticInput(size) {
  const x = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < size * size; i++) x[c * size * size + i] = Math.sin(0.05 * i + c) * 0.8;
  return x;
}

async function handle(data) {
  try {
    if (data.type === "load-default") await loadDefault(data.id, data);
    else if (data.type === "load-bytes") await load(new Uint8Array(data.bytes), data.name, data.id);
    else if (data.type === "load-hub") await loadHub(data.id, data);
    else if (data.type === "clear-cache") await clearCache(data.id);
    else if (data.type === "classify") {
      if (!classifier) throw new Error("no weights are loaded yet");
      const result = await classifier.classify(new Uint8Array(data.bytes));
      post({ type: "result", id: data.id, result });
    } else if (data.type === "classify-rgba") {
      if (!classifier) throw new Error("no weights are loaded yet");
      const result = await classifier.classify_rgba(new Uint8Array(data.rgba), data.width, data.height);
      post({ type: "result", id: data.id, result });
    } else if (data.type === "bench") {
      post({ type: "bench-result", id: data.id, result: await bench(data) });
    }
  } catch (e) {
    const message = String(e?.message ?? e);
    if (e instanceof WebAssembly.RuntimeError) {
      post({ type: "crashed", id: data.id, during: data.type, message });
      self.close();
    } else {
      post({ type: "error", id: data.id, during: data.type, message });
    }
  }
}

let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  queue = queue.then(() => handle(data));
};
