// The page: reads files (drop, pick, paste, a sample) and camera frames (camera.js), sends
// them to the worker, shows the answers. With `?bench` in its address it runs the benchmark
// mode instead (bench.js). sw.js keeps the site for offline visits.
//
// Every job sent to the worker (a weights load, an image) is kept in `inflight` until the
// worker answers it; the worker runs them in order. If the worker dies (the wasm module
// trapped, or the browser stopped it), the job it was running is marked with what happened,
// a new worker loads the weights in use again (from the Cache API) and the other jobs go on.
import { benchParams, showBenchError, showBenchProgress, showBenchResult, startBench } from "./bench.js";
import { Camera } from "./camera.js";

const $ = (id) => document.getElementById(id);
const inflight = [];
let worker = null;
let nextId = 0;
let weightsLoaded = false;
// The load job of the weights in use, to load them again in a new worker.
let weightsJob = null;
let crashes = 0;
const waiting = [];
// What the cold start took: the worker's timing of the weights, the first result (showColdStart).
const coldStart = {};
// Jobs are posted one after another, so that reading a file's bytes never reorders them.
let posting = Promise.resolve();

const WEIGHT_EXT = /\.(bpk|safetensors)$/i;
// The ImageNet weights the "Load ImageNet weights" control fetches: timm's port of the
// released TF-slim model, from the Hugging Face Hub (`?hub=ORIGIN` points it at a mirror or a
// stand-in; the page's Content-Security-Policy allows only the Hub and loopback).
const HUB_REPO = "timm/inception_resnet_v2.tf_in1k";
const HUB_ENDPOINT = new URLSearchParams(location.search).get("hub")?.replace(/\/+$/, "") || "https://huggingface.co";
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
// A worker that keeps dying on the weights alone is not restarted for ever.
const MAX_CRASHES = 5;

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// What the page's address asks of the worker (worker.js): `backend=cpu` the CPU even where
// WebGPU is, `threads=N` that many CPU threads.
function workerUrl() {
  const page = new URLSearchParams(location.search), query = new URLSearchParams();
  if (page.get("backend") === "cpu") query.set("gpu", "0");
  if (page.has("threads")) query.set("threads", page.get("threads"));
  return `./worker.js${query.size ? `?${query}` : ""}`;
}

function startWorker() {
  const started = new Worker(workerUrl(), { type: "module" });
  worker = started;
  // A replaced worker may still deliver what it had queued: only the current one counts.
  started.onmessage = ({ data }) => {
    if (started !== worker) return;
    if (data.type === "panic-channel") watchPool(started, data.name);
    else onMessage(data);
  };
  started.onerror = (e) => {
    e.preventDefault();
    if (started === worker) crashed(e.message || "the worker stopped");
  };
}

// The threaded module's pool threads are Web Workers of the worker's own: a panic on one of
// them leaves the worker waiting for ever, so the module says it on a BroadcastChannel.
function watchPool(owner, name) {
  const channel = new BroadcastChannel(name);
  owner.poolChannel = channel;
  channel.onmessage = ({ data }) => {
    channel.close();
    if (owner === worker) crashed(`a thread of its pool panicked: ${String(data).split("\n").pop()}`);
  };
}

/** Sends a job ({type: "load-default" | "load-file" | "classify", ...}) to the worker. */
function send(job) {
  job.id = nextId++;
  inflight.push(job);
  const target = worker;
  posting = posting.then(async () => {
    if (job.type === "classify-frame") {
      const { width, height, data } = job.pixels;
      target.postMessage({ type: "classify-rgba", id: job.id, width, height, rgba: data.buffer }, [data.buffer]);
    } else if (job.type === "classify" || job.type === "load-file") {
      const bytes = await job.file.arrayBuffer();
      const type = job.type === "classify" ? "classify" : "load-bytes";
      target.postMessage({ type, id: job.id, name: job.file.name, bytes }, [bytes]);
    } else {
      target.postMessage({ type: job.type, id: job.id, ...job.params });
    }
  }).catch((e) => answered(job.id, { type: "error", message: `the file could not be read: ${e.message ?? e}` }));
}

/** Removes the job `id` from `inflight` and shows its answer. */
function answered(id, data) {
  const at = inflight.findIndex((j) => j.id === id);
  if (at >= 0) show(inflight.splice(at, 1)[0], data);
}

function show(job, data) {
  if (job.type === "classify-frame") {
    job.answer(data);
  } else if (job.type === "classify") {
    data.type === "result" ? showResult(job.card, data.result) : showError(job.card, data.message);
  } else if (job.type === "bench") {
    data.type === "bench-result" ? showBenchResult(data.result) : showBenchError(data.message);
  } else if (data.type === "weights") {
    weightsReady(job, data);
  } else if (data.type === "cleared") {
    setStatus($("cache"), `Removed ${data.files} cached weights file${data.files === 1 ? "" : "s"} (${(data.bytes / 1e6).toFixed(1)} MB); the weights in use stay loaded until the page is reloaded.`);
  } else if (job.type === "clear-cache") {
    setStatus($("cache"), `The cache could not be cleared: ${data.message}`, true);
  } else {
    $("progress").hidden = true;
    // The weights in use stay loaded: the copy picked goes back to theirs.
    const inUse = weightsLoaded ? " (the weights in use stay loaded)" : "";
    setStatus($("weights"), `Weights could not be loaded: ${data.message}${inUse}`, true);
    $("weights-dtype").value = $("weights-dtype").dataset.loaded ?? "";
    // A copy picked on an earlier visit that no longer loads is forgotten, and the default
    // copy loads instead, so that a stale pick never leaves the page without weights.
    if (job.type === "load-default" && job.params?.dtype) {
      rememberDtype(null);
      if (!weightsLoaded) send({ type: "load-default", params: {} });
    }
  }
}

/** The worker died: the job it was running failed, a new worker takes the others. */
function crashed(reason) {
  worker.terminate();
  worker.poolChannel?.close();
  crashes++;
  const [culprit, ...rest] = inflight.splice(0);
  const what = `The classifier stopped (${reason})`;
  const restart = crashes <= MAX_CRASHES;
  if (culprit) {
    const on = { classify: "this image", "classify-frame": "this frame", bench: "the benchmark" }[culprit.type] ?? "these weights";
    show(culprit, { type: "error", message: `${what} on ${on}${restart ? " and was restarted" : ""}.` });
  }
  if (!restart) {
    setStatus($("backend"), `${what} too often; reload the page to try again.`, true);
    rest.forEach((j) => show(j, { type: "error", message: "Not classified: the classifier stopped." }));
    return;
  }
  startWorker();
  weightsLoaded = false;
  // The weights in use again, unless loading them again is what crashed.
  if (weightsJob && culprit?.reloads !== weightsJob) send({ ...weightsJob, reloads: weightsJob });
  rest.forEach(send);
}

function weightsReady(job, data) {
  $("progress").hidden = true;
  if (!data.info) {
    setStatus($("backend"), "gpu" in navigator
      ? "WebGPU is available: the network will run on your GPU."
      : "This browser has no WebGPU: the network will run on the CPU (slower).");
    setStatus($("weights"), "No weights are shipped in weights/ yet. Drop a .bpk (from `inception import`) or a timm .safetensors file here; see the README for ImageNet weights.", true);
    return;
  }
  weightsLoaded = true;
  weightsJob = job.reloads ?? { type: job.type, file: job.file, params: job.params };
  if (data.timing) {
    coldStart.weights = data.timing;
    delete coldStart.warmup;
  }
  showColdStart();
  const i = data.info;
  setStatus($("weights"), `Weights: ${data.label} — ${i.arch}, ${i.num_classes} classes, ${i.input_size}×${i.input_size} input, ${i.dtype} weights.${data.warning ? ` Warning: ${data.warning}.` : ""}`, Boolean(data.warning));
  showDtypeChoice(data.choices, i.dtype);
  waiting.splice(0).forEach(classify);
}

// The copies of the shipped weights that weights/manifest.json lists (int8, f16, f32): the
// visitor picks one, and the next visit loads that one again.
const DTYPE_KEY = "inception-weights-dtype";
function chosenDtype() {
  try { return localStorage.getItem(DTYPE_KEY) ?? undefined; } catch { return undefined; }
}
function rememberDtype(dtype) {
  try {
    dtype ? localStorage.setItem(DTYPE_KEY, dtype) : localStorage.removeItem(DTYPE_KEY);
  } catch { /* the choice lasts this visit only */ }
}

function showDtypeChoice(choices, current) {
  const many = (choices?.length ?? 0) > 1;
  $("dtype-choice").hidden = !many;
  $("dtype-what").hidden = !many;
  if (!many) return;
  $("weights-dtype").dataset.loaded = current;
  $("weights-dtype").replaceChildren(...choices.map(({ dtype, size }) =>
    new Option(`${dtype}, ${(size / 1e6).toFixed(1)} MB`, dtype, false, dtype === current)));
}

$("weights-dtype").addEventListener("change", (e) => {
  const dtype = e.target.value;
  rememberDtype(dtype);
  setStatus($("weights"), `Loading the ${dtype} copy of the weights…`);
  send({ type: "load-default", params: { dtype } });
});

function onMessage(data) {
  switch (data.type) {
    case "backend": {
      const b = data.backend;
      setStatus($("backend"), b.kind === "webgpu"
        ? "Running on your GPU through WebGPU."
        : `Running on the CPU in WebAssembly, on ${b.threads === 1 ? "one thread" : `${b.threads} threads`} (${b.threads_reason}). ${b.fallback_reason ?? ""}`);
      if (b.kind !== "webgpu") {
        document.querySelector(".sub").textContent = "The top-5 classes of your photos, computed on your CPU in WebAssembly. Nothing leaves this page.";
      }
      break;
    }
    case "warmed-up":
      coldStart.warmup = data.ms;
      showColdStart();
      break;
    case "progress": {
      const p = $("progress");
      p.hidden = false;
      p.max = data.total || data.loaded;
      p.value = data.loaded;
      setStatus($("weights"), `Downloading weights: ${(data.loaded / 1e6).toFixed(1)} of ${(data.total / 1e6).toFixed(1)} MB`);
      break;
    }
    case "bench-progress":
      showBenchProgress(data);
      break;
    case "crashed":
      crashed(data.message);
      break;
    default:
      answered(data.id, data);
  }
}

function newCard(name, file) {
  const card = document.createElement("article");
  card.className = "card";
  const img = document.createElement("img");
  img.alt = name;
  img.src = URL.createObjectURL(file);
  img.onerror = () => img.removeAttribute("src");
  const title = document.createElement("h2");
  title.textContent = name;
  const body = document.createElement("div");
  body.className = "body";
  body.textContent = weightsLoaded ? "Classifying…" : "Waiting for weights…";
  card.append(img, title, body);
  card.photo = file;
  $("results").prepend(card);
  return card;
}

/**
 * Shows a result in its card. A card keeps what the visitor chose (map on or off, its
 * opacity, the class picked) in `card.view`, so the camera's card, answered frame after
 * frame, keeps it too.
 */
function showResult(card, result, prepared = "decoding") {
  const body = card.querySelector(".body");
  body.textContent = "";
  card.view ??= { on: true, opacity: 50, picked: null };
  const view = camView(card, result);
  const shown = view.selected();
  for (const [rank, p] of result.top.entries()) {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.index = p.index;
    // A class's row shows its map over the photo: a toggle button for the keyboard and
    // screen readers too.
    row.tabIndex = 0;
    row.setAttribute("role", "button");
    row.setAttribute("aria-pressed", String(rank === shown));
    row.setAttribute("aria-label", `${p.label}, ${(p.probability * 100).toFixed(1)}%: show where the network looked for it`);
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = p.label;
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = `${(p.probability * 100).toFixed(1)}%`;
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.max(0.5, p.probability * 100)}%`;
    bar.append(fill);
    row.append(label, pct, bar);
    const pick = () => {
      body.querySelectorAll(".row").forEach((r) => r.setAttribute("aria-pressed", String(r === row)));
      card.view.picked = p.index;
      view.draw();
    };
    row.addEventListener("click", pick);
    row.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
    });
    body.append(row);
  }
  body.append(view.controls);
  const time = document.createElement("div");
  time.className = "time";
  time.textContent = `${Math.round(result.inference_ms)} ms network, ${Math.round(result.preprocess_ms)} ms ${prepared}`;
  body.append(time);
  if (coldStart.firstResult === undefined) {
    coldStart.firstResult = result.preprocess_ms + result.inference_ms;
    showColdStart();
  }
  return view.ready.then(() => { card.dataset.done = "true"; });
}

/**
 * Where the network looked: the part of the photo (`card.photo`, a File or an ImageBitmap)
 * the network saw, with the class activation map of the class picked (the top one unless
 * another was) scaled over it. The worker sends the maps coloured (`rgba`, a few cells a
 * side); the canvas scales them bilinearly.
 */
function camView(card, result) {
  const state = card.view;
  const side = 299;
  const canvas = document.createElement("canvas");
  canvas.className = "cam";
  canvas.width = canvas.height = side;
  canvas.setAttribute("role", "img");
  const id = `cam-${Math.random().toString(36).slice(2)}`;
  const controls = document.createElement("div");
  controls.className = "cam-controls";
  controls.innerHTML = `<label><input type="checkbox" id="${id}-on"> Where it looked</label>
    <label>opacity <input type="range" id="${id}-opacity" min="0" max="100" aria-label="Opacity of the map"></label>`;
  const on = controls.querySelector(`#${CSS.escape(id)}-on`);
  const opacity = controls.querySelector(`#${CSS.escape(id)}-opacity`);
  on.checked = state.on;
  opacity.value = String(state.opacity);
  const selected = () => Math.max(0, result.top.findIndex((p) => p.index === state.picked));
  let photo = null;
  const heat = result.maps.map((m) => {
    const cells = document.createElement("canvas");
    cells.width = m.width;
    cells.height = m.height;
    cells.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(m.rgba), m.width, m.height), 0, 0);
    return cells;
  });
  const draw = () => {
    const ctx = canvas.getContext("2d");
    const { x, y, width, height } = result.crop;
    ctx.globalAlpha = 1;
    // A camera frame's bitmap is closed once the next frame is shown (its width is then 0);
    // drawing a closed bitmap throws, so a view that is no longer the card's draws nothing.
    if (photo && photo.width === 0) return;
    if (photo) ctx.drawImage(photo, x, y, width, height, 0, 0, side, side);
    else ctx.clearRect(0, 0, side, side);
    const shown = heat[selected()];
    if (on.checked && shown) {
      ctx.imageSmoothingEnabled = true;
      ctx.globalAlpha = Number(opacity.value) / 100;
      ctx.drawImage(shown, 0, 0, side, side);
    }
    const what = on.checked ? `where the network looked for ${result.top[selected()].label}` : "as the network saw it";
    canvas.setAttribute("aria-label", `The photo, ${what}`);
  };
  on.addEventListener("change", () => { state.on = on.checked; draw(); });
  opacity.addEventListener("input", () => { state.opacity = Number(opacity.value); draw(); });
  const bitmap = card.photo instanceof ImageBitmap ? Promise.resolve(card.photo) : createImageBitmap(card.photo);
  const ready = bitmap
    .then((bitmap) => { photo = bitmap; }, () => {})
    .then(() => {
      draw();
      card.querySelector("img, canvas.cam")?.replaceWith(canvas);
    });
  return { controls, ready, draw, selected };
}

function showError(card, message) {
  const body = card.querySelector(".body");
  body.textContent = "";
  const err = document.createElement("p");
  err.className = "error";
  err.textContent = message;
  body.append(err);
  card.dataset.done = "error";
}

function classify(job) {
  job.card.querySelector(".body").textContent = "Classifying…";
  send({ type: "classify", card: job.card, file: job.file });
}

function handleFiles(files) {
  for (const file of files) {
    if (WEIGHT_EXT.test(file.name)) {
      setStatus($("weights"), `Loading ${file.name}…`);
      send({ type: "load-file", file });
      continue;
    }
    const card = newCard(file.name || "pasted image", file);
    if (file.size > MAX_IMAGE_BYTES) {
      showError(card, `This file is too large (${(file.size / 1e6).toFixed(0)} MB; at most ${MAX_IMAGE_BYTES / 1e6} MB).`);
      continue;
    }
    const job = { card, file };
    weightsLoaded ? classify(job) : waiting.push(job);
  }
}

const hubHost = URL.canParse(HUB_ENDPOINT) ? new URL(HUB_ENDPOINT).host : null;
$("hub-what").textContent = hubHost
  ? `${HUB_REPO} from ${hubHost} (224 MB, kept in this browser for the next visit)`
  : `?hub=${HUB_ENDPOINT} is not an address`;
$("load-hub").disabled = !hubHost;
$("load-hub").addEventListener("click", () => {
  setStatus($("weights"), `Loading ${HUB_REPO}…`);
  send({ type: "load-hub", params: { repo: HUB_REPO, endpoint: HUB_ENDPOINT } });
});
$("clear-cache").addEventListener("click", () => send({ type: "clear-cache" }));

// The camera's frames, each answered in one card that updates in place.
const camera = new Camera({
  video: $("camera-video"),
  classifyFrame: (pixels) => (weightsLoaded
    ? new Promise((answer) => send({ type: "classify-frame", pixels, answer }))
    : Promise.resolve(null)),
  onFrame: (answer, bitmap, rate) => {
    const card = cameraCard();
    card.dataset.frames = String(Number(card.dataset.frames ?? 0) + 1);
    card.querySelector("h2").textContent = rate === null ? "Camera" : `Camera, ${rate.toFixed(1)} frames/s`;
    if (answer.type !== "result") {
      // The card keeps the last frame shown; this one is not shown.
      bitmap.close();
      return showError(card, answer.message);
    }
    const previous = card.photo;
    card.photo = bitmap;
    // The previous frame's bitmap is let go once the new one is drawn in its place.
    showResult(card, answer.result, "preparing the frame").then(() => previous?.close());
  },
  onStatus: (text, isError) => {
    setStatus($("camera-status"), text, isError);
    $("camera").textContent = camera.on ? "Stop the camera" : "Camera";
    $("camera").setAttribute("aria-pressed", String(camera.on));
  },
});
$("camera").addEventListener("click", () => (camera.on ? camera.stop() : camera.start()));

function cameraCard() {
  let card = $("camera-card");
  if (card) return card;
  card = document.createElement("article");
  card.className = "card";
  card.id = "camera-card";
  card.setAttribute("aria-live", "polite");
  const placeholder = document.createElement("canvas");
  placeholder.className = "cam";
  const title = document.createElement("h2");
  title.textContent = "Camera";
  const body = document.createElement("div");
  body.className = "body";
  card.append(placeholder, title, body);
  $("results").prepend(card);
  return card;
}

// A sample is classified as a dropped file would be.
for (const button of document.querySelectorAll("button.sample")) {
  button.addEventListener("click", async () => {
    const src = button.dataset.src;
    try {
      const res = await fetch(src);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      handleFiles([new File([await res.blob()], src.split("/").pop())]);
    } catch (e) {
      showError(newCard(src, new Blob()), `The sample could not be loaded: ${e.message ?? e}`);
    }
  });
}

/** The cold start in one line: when WebAssembly, the weights and the first result were ready. */
function showColdStart() {
  const w = coldStart.weights;
  if (!w) return;
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const since = (at) => s(at - performance.timeOrigin);
  const came = {
    cache: `from this browser's cache in ${s(w.fetch_ms)}`,
    download: `downloaded in ${s(w.fetch_ms)}`,
    file: "from a dropped file",
  }[w.source];
  const parts = [
    `WebAssembly ready ${since(w.wasm_ready_at)} after the page opened`,
    `weights ${(w.bytes / 1e6).toFixed(1)} MB ${came}`,
    `set up in ${s(w.load_ms)}`,
    `ready ${since(w.ready_at)} after the page opened`,
  ];
  if (w.warms) {
    parts.push(coldStart.warmup === undefined
      ? "the first pass (compiling the GPU's shaders) is running"
      : `the first pass (compiling the GPU's shaders) took ${s(coldStart.warmup)} more`);
  }
  if (coldStart.firstResult !== undefined) parts.push(`first result ${s(coldStart.firstResult)} after its photo`);
  setStatus($("cold-start"), `Cold start: ${parts.join(", ")}.`);
}

// The site for offline visits (sw.js): after this visit it opens, and classifies, without a
// network. A host that serves no service worker (or a browser without them) loses only that.
async function keepOffline() {
  if (!("serviceWorker" in navigator)) {
    setStatus($("offline"), "This browser cannot keep the page for offline use.");
    return;
  }
  try {
    await navigator.serviceWorker.register("./sw.js");
    await navigator.serviceWorker.ready;
    setStatus($("offline"), "Kept in this browser: the page opens and classifies offline, and it can be installed as an app.");
    document.body.dataset.offline = "ready";
  } catch (e) {
    setStatus($("offline"), `The page could not be kept for offline use: ${e.message ?? e}`);
  }
}
$("files").addEventListener("change", (e) => handleFiles([...e.target.files]));
// The drop zone takes the keyboard's focus: Enter or Space there opens the file picker.
$("drop").addEventListener("keydown", (e) => {
  if (e.target === $("drop") && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); $("files").click(); }
});
window.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("dragging"); });
window.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
window.addEventListener("drop", (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  handleFiles([...e.dataTransfer.files]);
});
window.addEventListener("paste", (e) => handleFiles([...e.clipboardData.files]));

if (!("gpu" in navigator)) {
  setStatus($("backend"), "This browser has no WebGPU: running on the CPU (slower).");
}
startWorker();
const bench = benchParams(location.search);
if (bench) {
  startBench(bench);
  send({ type: "bench", params: bench });
} else {
  send({ type: "load-default", params: { dtype: chosenDtype() } });
  keepOffline();
}
