// The npm package's TypeScript types (crates/web/js/index.d.ts, and wasm-bindgen's for the
// raw module) used as an app would: `tsc -p tsconfig.package.json` must accept this file,
// including every `@ts-expect-error` line, each a misuse the types must refuse.
import { InceptionClassifier, heatMapImage, type Classification, type WeightsInfo } from "inception-web";
import init, { Classifier } from "inception-web/raw";

export async function app(img: HTMLImageElement, file: File, canvas: HTMLCanvasElement): Promise<string> {
  const classifier = await InceptionClassifier.create({ gpu: false });
  const info: WeightsInfo = await classifier.loadHub("timm/inception_resnet_v2.tf_in1k");
  await classifier.loadUrl("weights/irv2-int8.bpk", { size: 56_000_000, sha256: "0".repeat(64) });
  await classifier.loadBytes(await file.arrayBuffer());
  const result: Classification = await classifier.classify(img, { topK: 3 });
  const fromFile = await classifier.classify(file);
  const context = canvas.getContext("2d");
  context?.putImageData(heatMapImage(result.maps[0]), 0, 0);
  classifier.terminate();
  const backend: "webgpu" | "cpu" = info.backend.kind;
  return `${result.top[0].label} ${result.top[0].probability.toFixed(3)} ${fromFile.crop.width} ${backend} ${info.input_size}`;
}

export async function misuse(classifier: InceptionClassifier): Promise<void> {
  // @ts-expect-error: a number is not an image
  await classifier.classify(42);
  // @ts-expect-error: topK is a number
  await classifier.classify(new Blob(), { topK: "5" });
  // @ts-expect-error: loadHub takes a repository name
  await classifier.loadHub({ repo: "timm/x" });
  const result = await classifier.classify(new Blob());
  // @ts-expect-error: the answer's classes are `top`, not `top5`
  result.top5;
}

// The raw wasm-bindgen module, for apps that run their own worker.
export async function raw(weights: Uint8Array, image: Uint8Array): Promise<unknown> {
  await init();
  const classifier = await Classifier.load(weights, true);
  return classifier.classify(image, 5);
}
