// The page: reads files (drop, pick, paste), sends them to the worker, shows the answers.
// With `?bench` in its address it runs the benchmark mode instead (bench.js).
import { benchParams, showBenchError, showBenchProgress, showBenchResult, startBench } from "./bench.js";

const $ = (id) => document.getElementById(id);
const worker = new Worker("./worker.js", { type: "module" });
const pending = new Map();
let nextId = 0;
let weightsLoaded = false;
const queue = [];

const WEIGHT_EXT = /\.(bpk|safetensors)$/i;
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

worker.onerror = (e) => setStatus($("backend"), `The worker failed to start: ${e.message}`, true);

worker.onmessage = ({ data }) => {
  switch (data.type) {
    case "backend": {
      const b = data.backend;
      setStatus($("backend"), b.kind === "webgpu"
        ? "Running on your GPU through WebGPU."
        : `Running on the CPU (slower). ${b.fallback_reason ?? ""}`);
      if (b.kind !== "webgpu") {
        document.querySelector(".sub").textContent = "The top-5 classes of your photos, computed on your CPU in WebAssembly. Nothing leaves this page.";
      }
      break;
    }
    case "progress": {
      const p = $("progress");
      p.hidden = false;
      p.max = data.total || data.loaded;
      p.value = data.loaded;
      setStatus($("weights"), `Downloading weights: ${(data.loaded / 1e6).toFixed(1)} of ${(data.total / 1e6).toFixed(1)} MB`);
      break;
    }
    case "weights": {
      $("progress").hidden = true;
      if (!data.info) {
        setStatus($("backend"), "gpu" in navigator
          ? "WebGPU is available: the network will run on your GPU."
          : "This browser has no WebGPU: the network will run on the CPU (slower).");
        setStatus($("weights"), "No weights are shipped in weights/ yet. Drop a .bpk (from `inception import`) or a timm .safetensors file here; see the README for ImageNet weights.", true);
        return;
      }
      weightsLoaded = true;
      const i = data.info;
      setStatus($("weights"), `Weights: ${data.label} — ${i.arch}, ${i.num_classes} classes, ${i.input_size}×${i.input_size} input.`);
      queue.splice(0).forEach(classify);
      break;
    }
    case "bench-progress":
      showBenchProgress(data);
      break;
    case "bench-result":
      showBenchResult(data.result);
      break;
    case "result":
    case "error": {
      if (data.during === "bench") {
        showBenchError(data.message);
        break;
      }
      const card = pending.get(data.id);
      if (card) {
        pending.delete(data.id);
        data.type === "result" ? showResult(card, data.result) : showError(card, data.message);
      } else if (data.type === "error") {
        setStatus($("weights"), `Weights could not be loaded: ${data.message}`, true);
        $("progress").hidden = true;
      }
      break;
    }
  }
};

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
  $("results").prepend(card);
  return card;
}

function showResult(card, result) {
  const body = card.querySelector(".body");
  body.textContent = "";
  for (const p of result.top5) {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.index = p.index;
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
    body.append(row);
  }
  const time = document.createElement("div");
  time.className = "time";
  time.textContent = `${Math.round(result.inference_ms)} ms network, ${Math.round(result.preprocess_ms)} ms decoding`;
  body.append(time);
  card.dataset.done = "true";
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

async function classify({ card, file }) {
  const id = nextId++;
  pending.set(id, card);
  card.querySelector(".body").textContent = "Classifying…";
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: "classify", id, bytes }, [bytes]);
}

async function handleFiles(files) {
  for (const file of files) {
    if (WEIGHT_EXT.test(file.name)) {
      setStatus($("weights"), `Loading ${file.name}…`);
      const bytes = await file.arrayBuffer();
      worker.postMessage({ type: "load-bytes", name: file.name, bytes }, [bytes]);
      continue;
    }
    const card = newCard(file.name || "pasted image", file);
    if (file.size > MAX_IMAGE_BYTES) {
      showError(card, `This file is too large (${(file.size / 1e6).toFixed(0)} MB; at most ${MAX_IMAGE_BYTES / 1e6} MB).`);
      continue;
    }
    const job = { card, file };
    weightsLoaded ? classify(job) : queue.push(job);
  }
}

$("files").addEventListener("change", (e) => handleFiles([...e.target.files]));
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
const bench = benchParams(location.search);
if (bench) startBench(worker, bench);
else worker.postMessage({ type: "load-default" });
