// Fetching weights safely, shared by the npm package's worker (worker.js) and the demo
// page's (web/worker.js): a download never grows past the size announced for it, and bytes
// are used only once their sha256 is the one announced.

/** The most a download may bring when nothing announced its size (Inception-ResNet-v2 at
 * f32 is 224 MB). */
export const MAX_WEIGHTS_BYTES = 2 ** 31;
/** The file a Hub repository of timm's holds its weights in. */
export const HUB_FILE = "model.safetensors";

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Downloads `url` into one Uint8Array. `size`: what was announced (a server that sends
 * more is cut off, not buffered); `onProgress(loaded, total)` after each chunk. */
export async function download(url, size, onProgress = () => {}) {
  const limit = size || MAX_WEIGHTS_BYTES;
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
    if (loaded > limit) {
      await reader.cancel();
      throw new Error(size
        ? `downloading ${url}: more than the ${size} bytes announced`
        : `downloading ${url}: more than ${limit} bytes`);
    }
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) { bytes.set(c, offset); offset += c.length; }
  return bytes;
}

/** Throws unless `bytes` are `expected.size` bytes with `expected.sha256`; a field left out
 * (undefined) is not checked, one given as anything else must match. `expected.file` names
 * the weights in the message. */
export async function checkHash(bytes, expected) {
  const name = expected.file ?? "the weights";
  if (expected.size !== undefined && bytes.length !== expected.size) {
    throw new Error(`weights ${name} are ${bytes.length} bytes, ${expected.size} were announced`);
  }
  if (expected.sha256 === undefined) return;
  const hash = await sha256Hex(bytes);
  if (hash !== expected.sha256) {
    throw new Error(`weights ${name} are damaged (sha256 ${hash.slice(0, 12)}…, expected ${expected.sha256.slice(0, 12)}…)`);
  }
}

/** What the Hub's API says of a repository's weights at its main branch: the commit, and the
 * size and sha256 of the LFS file (a browser follows the file's redirect to the CDN by itself,
 * so the resolve answer's X-Linked-Etag is out of reach; the API has the same hash). */
export async function hubFileInfo(endpoint, repo) {
  if (!/^https?:\/\/[^/]+$/.test(endpoint ?? "")) throw new Error(`the Hub address ${endpoint} is not an http(s) origin`);
  const url = `${endpoint}/api/models/${repo}/revision/main?blobs=true`;
  const res = await fetch(url);
  if (res.status === 401 || res.status === 404) throw new Error(`${repo} is not on ${endpoint} (HTTP ${res.status})`);
  if (!res.ok) throw new Error(`${endpoint} answered HTTP ${res.status} for ${repo}`);
  const text = await res.text();
  if (text.length > 4 << 20) throw new Error(`${endpoint}'s description of ${repo} is too long`);
  const about = JSON.parse(text);
  const file = about?.siblings?.find?.((s) => s?.rfilename === HUB_FILE);
  const sha256 = file?.lfs?.sha256, size = file?.lfs?.size ?? file?.size, commit = about?.sha;
  if (!file) throw new Error(`${repo} has no ${HUB_FILE}`);
  if (!/^[0-9a-f]{64}$/.test(sha256 ?? "") || !/^[0-9a-f]{40}$/.test(commit ?? "") ||
      !Number.isSafeInteger(size) || size <= 0 || size > MAX_WEIGHTS_BYTES) {
    throw new Error(`${endpoint}'s description of ${repo}/${HUB_FILE} has no usable sha256, commit or size`);
  }
  return { sha256, size, commit, file: `${repo}/${HUB_FILE}`, url: `${endpoint}/${repo}/resolve/${commit}/${HUB_FILE}` };
}
