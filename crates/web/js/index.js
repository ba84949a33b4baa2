// inception-web: Inception-ResNet-v2 and Inception-v4 (timm's weights, or this project's
// `.bpk`) classifying images in a Web Worker, on WebGPU or on the CPU in WebAssembly.
//
//   import { InceptionClassifier } from "inception-web";
//   const classifier = await InceptionClassifier.create();
//   await classifier.loadHub("timm/inception_resnet_v2.tf_in1k");
//   const { top, maps } = await classifier.classify(document.querySelector("img"));
//
// Every method returns a Promise; errors (a broken image, weights that are not what was
// announced, a browser without WebGPU's CPU fallback failing) reject it with an Error.

/** A classifier whose network lives in its own Web Worker. */
export class InceptionClassifier {
  #worker;
  #pending = new Map();
  #nextId = 0;
  #dead = null;

  /** Starts the worker. `gpu: false` keeps the network on the CPU even where WebGPU exists. */
  static async create({ gpu = true } = {}) {
    const classifier = new InceptionClassifier(new Worker(new URL("./worker.js", import.meta.url), { type: "module" }));
    await classifier.#call("configure", { gpu });
    return classifier;
  }

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, value, error, fatal } }) => {
      const { resolve, reject } = this.#pending.get(id);
      this.#pending.delete(id);
      if (fatal) this.#stop(`the classifier stopped (${error}); create a new one`);
      error === undefined ? resolve(value) : reject(new Error(error));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#stop(`the classifier's worker failed: ${e.message || "it stopped"}`);
    };
  }

  #stop(reason) {
    this.#dead = reason;
    this.#worker.terminate();
    for (const { reject } of this.#pending.values()) reject(new Error(reason));
    this.#pending.clear();
  }

  #call(op, args = {}, transfer = []) {
    if (this.#dead) return Promise.reject(new Error(this.#dead));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, ...args }, transfer);
    });
  }

  /** Weights from a URL: a `.bpk` or a timm `.safetensors`. With `size` and `sha256` the
   * download is cut off past `size` bytes and refused unless its hash is `sha256`. Resolves
   * to `{arch, num_classes, input_size, source, dtype, backend: {kind, fallback_reason}}`. */
  loadUrl(url, { size, sha256 } = {}) {
    return this.#call("loadUrl", { url: new URL(url, location.href).href, size, sha256 });
  }

  /** Weights by name from the Hugging Face Hub (its `model.safetensors` at `main`, checked
   * against the sha256 the Hub lists), e.g. `timm/inception_resnet_v2.tf_in1k`. */
  loadHub(repo, { endpoint = "https://huggingface.co" } = {}) {
    return this.#call("loadHub", { repo, endpoint: endpoint.replace(/\/+$/, "") });
  }

  /** Weights from bytes (an ArrayBuffer, a typed array or a Blob). */
  async loadBytes(weights) {
    const bytes = await toArrayBuffer(weights);
    return this.#call("loadBytes", { bytes }, [bytes]);
  }

  /** Classifies a Blob or File (the image file's bytes), an ImageBitmap, ImageData, or an
   * `<img>`, `<canvas>` or `<video>` element. Resolves to `{top: [{index, label,
   * probability}], maps: [{class, width, height, rgba}], crop: {x, y, width, height},
   * preprocess_ms, inference_ms}`: the `topK` (default 5) most probable classes, and for each
   * its class activation map (where the network looked), to draw over `crop`, the part of the
   * image the network saw. The caller's image is left as it was. */
  async classify(image, { topK } = {}) {
    if (image instanceof Blob) {
      const bytes = await image.arrayBuffer();
      return this.#call("classify", { bytes, topK }, [bytes]);
    }
    if (typeof ImageData !== "undefined" && image instanceof ImageData) {
      const rgba = image.data.slice().buffer;
      return this.#call("classify", { rgba, width: image.width, height: image.height, topK }, [rgba]);
    }
    if (typeof HTMLImageElement !== "undefined" && image instanceof HTMLImageElement) await image.decode();
    // A copy, moved to the worker: the caller keeps its own bitmap or element.
    const bitmap = await createImageBitmap(image);
    return this.#call("classify", { bitmap, topK }, [bitmap]);
  }

  /** Stops the worker; the classifier cannot be used after. */
  terminate() {
    this.#stop("the classifier was terminated");
  }
}

async function toArrayBuffer(weights) {
  if (weights instanceof Blob) return weights.arrayBuffer();
  if (weights instanceof ArrayBuffer) return weights.slice(0);
  if (ArrayBuffer.isView(weights)) return weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  throw new TypeError("weights must be an ArrayBuffer, a typed array or a Blob");
}

/** A class activation map (`classify`'s `maps[i]`) as an ImageData, to draw scaled over the
 * crop: `context.drawImage(await createImageBitmap(heatMapImage(map)), ...)`. */
export function heatMapImage(map) {
  return new ImageData(new Uint8ClampedArray(map.rgba), map.width, map.height);
}
