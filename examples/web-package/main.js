// The whole of an app built on the npm package: weights by URL (`?weights=`, default the
// repository's demo weights) or by Hub name (`?hub=ORG/NAME`), then the top-5 of each photo
// picked, with the top class's activation map drawn over the part the network saw.
import { InceptionClassifier, heatMapImage } from "inception-web";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const classifier = await InceptionClassifier.create();
try {
  const info = params.has("hub")
    ? await classifier.loadHub(params.get("hub"), { endpoint: params.get("endpoint") ?? undefined })
    : await classifier.loadUrl(params.get("weights") ?? "../../weights/inception-resnet-v2-shapes-int8.bpk");
  $("status").textContent = `${info.arch}, ${info.num_classes} classes, ${info.dtype} weights, on ${info.backend.kind}.`;
} catch (e) {
  $("status").textContent = `The weights could not be loaded: ${e.message}`;
}

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  $("photo").src = URL.createObjectURL(file);
  try {
    const { top, maps, crop } = await classifier.classify(file, { topK: 5 });
    $("top").replaceChildren(...top.map((p) => Object.assign(document.createElement("li"),
      { textContent: `${p.label}: ${(100 * p.probability).toFixed(1)}%` })));
    await $("photo").decode();
    const scale = $("photo").width / $("photo").naturalWidth;
    const canvas = $("map");
    Object.assign(canvas.style, { left: `${crop.x * scale}px`, top: `${crop.y * scale}px`,
      width: `${crop.width * scale}px`, height: `${crop.height * scale}px` });
    [canvas.width, canvas.height] = [maps[0].width, maps[0].height];
    canvas.getContext("2d").putImageData(heatMapImage(maps[0]), 0, 0);
  } catch (e) {
    $("top").replaceChildren(Object.assign(document.createElement("li"), { textContent: `Not classified: ${e.message}` }));
  }
});
