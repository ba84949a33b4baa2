// The npm package's Web Worker: it owns the network, so that the page that uses the package
// never freezes. index.js starts it and is its only caller; each message is
// {id, op, ...arguments} and each answer {id, value} or {id, error}, in order.
import init, { Classifier } from "./inception_web.js";
import { checkHash, download, hubFileInfo } from "./fetch-weights.js";

const ready = init();
let classifier = null;
let allowGpu = true;

async function load(bytes) {
  await ready;
  // The weights in use stay until the new ones have loaded: a bad file changes nothing.
  const loaded = await Classifier.load(bytes, allowGpu);
  classifier?.free();
  classifier = loaded;
  return classifier.info();
}

/** An ImageBitmap's pixels (EXIF orientation already applied by createImageBitmap). */
function pixels(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

const ops = {
  async configure({ gpu }) { allowGpu = gpu; },
  async loadBytes({ bytes }) { return load(new Uint8Array(bytes)); },
  async loadUrl({ url, size, sha256 }) {
    const bytes = await download(url, size);
    await checkHash(bytes, { file: url, size, sha256 });
    return load(bytes);
  },
  async loadHub({ repo, endpoint }) {
    const file = await hubFileInfo(endpoint, repo);
    const bytes = await download(file.url, file.size);
    await checkHash(bytes, file);
    return load(bytes);
  },
  async classify({ bytes, bitmap, rgba, width, height, topK }) {
    if (!classifier) throw new Error("no weights are loaded: call loadUrl, loadHub or loadBytes first");
    if (bytes) return classifier.classify(new Uint8Array(bytes), topK);
    const frame = bitmap ? pixels(bitmap) : { data: new Uint8Array(rgba), width, height };
    return classifier.classify_rgba(new Uint8Array(frame.data.buffer), frame.width, frame.height, topK);
  },
};

let queue = Promise.resolve();
self.onmessage = ({ data: { id, op, ...args } }) => {
  queue = queue.then(async () => {
    try {
      self.postMessage({ id, value: await ops[op](args) });
    } catch (e) {
      // After a trap (a panic, memory exhausted) the module's state is undefined.
      const fatal = e instanceof WebAssembly.RuntimeError;
      self.postMessage({ id, error: String(e?.message ?? e), fatal });
      if (fatal) self.close();
    }
  });
};
