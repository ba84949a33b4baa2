// The page's benchmark mode, for measuring this page on a given browser and machine:
//   index.html?bench[&backend=cpu][&threads=N][&runs=5][&warmup=1][&fused=0][&fold=0][&input=URL&expected=URL]
// It times a cold start of the shipped weights (download, hash check, device set-up and
// upload, first result, which includes burn's shader compilation) and then the median of
// `runs` passes after `warmup` untimed ones (the first result is one of them). `input` is a
// raw little-endian f32 file of 3 x size x size preprocessed values and `expected` the logits
// to compare with (for example a timm fixture's input.f32 and logits.f32); without them a
// synthetic input is used. `fused=0` runs the CPU path on burn's own convolution operations
// instead of the model crate's fused convolution, to measure what the fusion gives; `fold=0`
// runs the network as loaded, each BatchNorm a layer of its own, to measure what folding gives
// (on WebGPU the table also says how many compute dispatches a pass took).
// `backend=cpu` and `threads=N` are the page's own settings (app.js hands them to its worker):
// the CPU even where WebGPU is, and N threads on it (1: the single-threaded module).
// The result is shown in a table and as JSON in #bench-json; body[data-bench] becomes
// "done" or "error" for scripts that drive the page.
const $ = (id) => document.getElementById(id);

/** The benchmark's settings from the page's query string, or null when not in bench mode. */
export function benchParams(search) {
  const q = new URLSearchParams(search);
  if (!q.has("bench")) return null;
  const count = (name, dflt) => {
    const n = Number(q.get(name) ?? dflt);
    return Number.isInteger(n) && n >= 0 && n <= 1000 ? n : dflt;
  };
  return {
    allowGpu: q.get("backend") !== "cpu",
    runs: Math.max(1, count("runs", 5)),
    warmup: count("warmup", 1),
    fused: q.get("fused") !== "0",
    folded: q.get("fold") !== "0",
    inputUrl: q.get("input"),
    expectedUrl: q.get("expected"),
  };
}

/** Shows the benchmark's section; the caller sends the "bench" job to the worker. */
export function startBench(params) {
  $("bench").hidden = false;
  $("drop").hidden = true;
  $("bench-status").textContent = `Cold start: downloading and loading the weights on ${params.allowGpu ? "WebGPU (if present)" : "the CPU"}…`;
}

export function showBenchProgress({ done, total, first_ms }) {
  $("bench-status").textContent = first_ms !== undefined
    ? `First result after ${Math.round(first_ms)} ms; ${total - done} more passes…`
    : `Pass ${done} of ${total}…`;
}

const ms = (x) => `${x.toFixed(0)} ms`;

export function showBenchResult(r) {
  const rows = [
    ["backend", `${r.backend}${r.fallback_reason ? ` (${r.fallback_reason})` : ""}`],
    ...(r.backend === "cpu" ? [["CPU threads", `${r.threads} (${r.threads_reason})`]] : []),
    ["network", `${r.arch}, ${r.input_size}×${r.input_size}, batch 1${r.folded ? "" : ", BatchNorm unfolded"}${r.fused ? "" : ", unfused convolutions"}`],
    ["weights", `${(r.weights_bytes / 1e6).toFixed(1)} MB`],
    ["cold: wasm start", ms(r.cold.wasm_init_ms)],
    ["cold: download", ms(r.cold.download_ms)],
    ["cold: sha256 check", ms(r.cold.sha256_ms)],
    ["cold: device and upload", ms(r.cold.load_ms)],
    ["cold: first result", ms(r.cold.first_result_ms)],
    [r.backend === "webgpu" ? "of which shader compilation (first − median)" : "of which one-time work (first − median)", ms(r.cold.shader_compile_ms)],
    [`ms/image (median of ${r.runs} after ${r.warmup} warm-up)`, `${r.median_ms.toFixed(1)} ms`],
    ["images/s", r.images_per_s.toFixed(2)],
  ];
  if (r.dispatches) {
    rows.push(["WebGPU dispatches, first pass", String(r.dispatches.first_pass)]);
    rows.push(["WebGPU dispatches per pass after it", String(r.dispatches.per_pass)]);
  }
  if (r.max_abs_diff !== null) rows.push(["max |logit − expected|", r.max_abs_diff.toExponential(2)]);
  const table = $("bench-table");
  table.textContent = "";
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  $("bench-json").textContent = JSON.stringify(r);
  $("bench-status").textContent = "Done.";
  document.body.dataset.bench = "done";
}

export function showBenchError(message) {
  $("bench-status").textContent = `The benchmark failed: ${message}`;
  $("bench-status").classList.add("error");
  document.body.dataset.bench = "error";
}
