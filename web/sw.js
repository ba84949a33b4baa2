// The service worker that keeps the site for offline visits. On install it stores the page,
// its scripts and the WebAssembly module; afterwards every request to this origin goes to the
// network first (so an online visit always gets the current site, and refreshes the copy)
// and falls back to the copy when the network fails. The weights are not stored here: the
// classifier's worker keeps the ones in use in its own cache ("inception-weights-v1"), which
// the page's "Clear cached weights" control empties; their manifest is stored here.
const CACHE = "inception-site-v1";
// Without these the page cannot run: an install that cannot store them all fails, and the
// browser tries again on the next visit.
const SITE = [
  "./", "index.html", "style.css", "app.js", "camera.js", "bench.js", "worker.js",
  "inception-web.js", "inception-web_bg.wasm", "fetch-weights.js", "manifest.webmanifest", "icons/icon-192.png", "icons/icon-512.png",
];
// Stored when present: a site may ship no weights, samples are extras, and without the
// threaded CPU module the worker runs the main one. (That module's pool script, under
// snippets/, has a hashed name: it is stored when first fetched, as everything is.)
const OPTIONAL = [
  "inception-web-threads.js", "inception-web-threads_bg.wasm",
  "weights/manifest.json", "samples/cat.jpg", "samples/coffee.jpg", "samples/rocket.jpg", "samples/astronaut.jpg",
  "samples/star.png", "samples/crescent.png", "samples/checkerboard.png", "samples/ring.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SITE);
    await Promise.allSettled(OPTIONAL.map((url) => cache.add(url)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // Older versions of the site's cache (never the weights').
    for (const name of await caches.keys()) {
      if (name.startsWith("inception-site-") && name !== CACHE) await caches.delete(name);
    }
    // The page that registered this worker is served by it from now on, not from its next load.
    await self.clients.claim();
  })());
});

// Cross-origin isolation, which SharedArrayBuffer (and so wasm threads) needs, on any host,
// GitHub Pages included, which lets a site set no header: every answer of the site that this
// worker serves carries COOP and COEP, so pages it controls are isolated. Requests to other
// origins are CORS fetches (the Hub sends CORS headers), which COEP allows.
// tools/build_site.sh's _headers sends the same two headers where the host reads it.
const ISOLATION = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

function isolated(response) {
  if (response.type === "opaque" || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

const isWeights = (url) => url.pathname.includes("/weights/") && !url.pathname.endsWith("/manifest.json");

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Other origins (the Hugging Face Hub) and the weights files go to the network untouched.
  if (request.method !== "GET" || url.origin !== self.location.origin || isWeights(url)) return;
  const key = stripSearch(request, url);
  event.respondWith((async () => {
    let response;
    try {
      response = await fetch(request);
    } catch (offline) {
      const copy = await caches.match(key, { cacheName: CACHE });
      if (copy) return isolated(copy);
      throw offline;
    }
    // Stored after the answer, and a refusal (a full storage quota) keeps the older copy.
    // The bench mode's cache-busting queries are not stored.
    if (response.ok && !url.search.includes("nocache")) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)).catch(() => {}));
    }
    return isolated(response);
  })());
});

// `./?hub=…` and `./index.html?bench` are the same page: one copy, stored without the query.
function stripSearch(request, url) {
  return request.mode === "navigate" || url.pathname.endsWith(".html") ? url.origin + url.pathname : request;
}
