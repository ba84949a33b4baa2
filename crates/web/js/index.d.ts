// Types of inception-web's API (index.js). The raw wasm-bindgen module is inception_web.js.

/** What the loaded weights are, and where the network runs. */
export interface WeightsInfo {
  arch: "inception-v4" | "inception-resnet-v1" | "inception-resnet-v2" | string;
  num_classes: number;
  /** The side of the square input, in pixels (299 for timm's weights). */
  input_size: number;
  source: string;
  /** How the file stored its weights. */
  dtype: "f32" | "f16" | "int8";
  backend: { kind: "webgpu" | "cpu"; fallback_reason?: string | null };
}

export interface Prediction {
  index: number;
  label: string;
  probability: number;
}

/** A class activation map: `width x height` RGBA cells, coloured for drawing. */
export interface HeatMap {
  class: number;
  width: number;
  height: number;
  rgba: number[];
}

export interface Classification {
  /** The `topK` most probable classes, most probable first. */
  top: Prediction[];
  /** Where the network looked, for each class of `top` (same order). */
  maps: HeatMap[];
  /** The part of the image the network saw, in the image's pixels. */
  crop: { x: number; y: number; width: number; height: number };
  preprocess_ms: number;
  inference_ms: number;
}

export type ImageInput = Blob | ImageBitmap | ImageData | HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | OffscreenCanvas;

export class InceptionClassifier {
  /** Starts the worker. `gpu: false` keeps the network on the CPU even where WebGPU exists. */
  static create(options?: { gpu?: boolean }): Promise<InceptionClassifier>;
  /** A `.bpk` or timm `.safetensors` by URL; `size` and `sha256` are checked when given. */
  loadUrl(url: string | URL, expected?: { size?: number; sha256?: string }): Promise<WeightsInfo>;
  /** `model.safetensors` of a Hugging Face Hub repository, checked against the Hub's sha256. */
  loadHub(repo: string, options?: { endpoint?: string }): Promise<WeightsInfo>;
  loadBytes(weights: ArrayBuffer | ArrayBufferView | Blob): Promise<WeightsInfo>;
  classify(image: ImageInput, options?: { topK?: number }): Promise<Classification>;
  terminate(): void;
}

/** A class activation map as an ImageData, to draw scaled over `Classification.crop`. */
export function heatMapImage(map: HeatMap): ImageData;
