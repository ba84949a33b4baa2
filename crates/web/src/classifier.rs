//! The object a Web Worker holds: the model crate's [`Pipeline`] on the device the browser
//! offers, and the JavaScript shapes of its answers.

use burn::prelude::*;
use inception::pipeline::{Answer, Pipeline, Prepared};
use inception::preprocess::CropWindow;
use inception::{LoadedWeights, Network, WeightsMeta, load_weights};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::device::{Backend, init_device};

#[wasm_bindgen]
pub struct Classifier {
    pipeline: Pipeline,
    backend: Backend,
}

#[derive(Serialize)]
struct Info<'a> {
    arch: &'a str,
    num_classes: usize,
    input_size: usize,
    source: &'a str,
    /// How the file stored its weights: f32, f16 or int8.
    dtype: &'a str,
    backend: &'a Backend,
}

/// How many classes an answer lists when the caller does not say.
const DEFAULT_TOP_K: usize = 5;

#[derive(Serialize)]
struct Classification {
    /// The `top_k` most probable classes, most probable first.
    top: Vec<inception::pipeline::Prediction>,
    /// Where the network looked, for each class of `top` (same order).
    maps: Vec<HeatMap>,
    /// The part of the decoded image the network saw, in its pixels.
    crop: CropWindow,
    /// Decode + preprocess time.
    preprocess_ms: f64,
    /// Network time, readback included.
    inference_ms: f64,
}

/// A class activation map coloured for drawing: `width x height` RGBA cells.
#[derive(Serialize)]
struct HeatMap {
    class: usize,
    width: usize,
    height: usize,
    /// A few hundred bytes (8x8 cells at 299): an array of numbers is fine.
    rgba: Vec<u8>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[wasm_bindgen]
impl Classifier {
    /// Loads weights (this project's `.bpk`, or a timm `.safetensors`) onto WebGPU, or onto
    /// the CPU when WebGPU is missing or `allow_gpu` is false.
    pub async fn load(weights: Vec<u8>, allow_gpu: bool) -> Result<Classifier, JsError> {
        // Loaded on the host, where the BatchNorm fold runs, then moved to the device.
        let loaded = load_weights(weights, None, "page", &Device::flex()).map_err(js_error)?;
        Ok(Self::on_device(loaded, allow_gpu, Pipeline::new).await)
    }

    /// As [`Classifier::load`], with every BatchNorm left a layer of its own: the benchmark
    /// mode's `fold=0`, for measuring what folding gives.
    pub async fn load_unfolded(weights: Vec<u8>, allow_gpu: bool) -> Result<Classifier, JsError> {
        let loaded = load_weights(weights, None, "page", &Device::flex()).map_err(js_error)?;
        Ok(Self::on_device(loaded, allow_gpu, Pipeline::unfolded).await)
    }

    /// `{arch, num_classes, input_size, source, dtype, backend: {kind, fallback_reason}}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        let meta = self.pipeline.meta();
        let info = Info {
            arch: meta.arch.name(),
            num_classes: meta.num_classes,
            input_size: meta.preprocess.input_size,
            source: &meta.source,
            dtype: meta.dtype.name(),
            backend: &self.backend,
        };
        serde_wasm_bindgen::to_value(&info).map_err(js_error)
    }

    /// Classifies an image file's bytes: `{top: [{index, label, probability}], maps: [{class,
    /// width, height, rgba}], crop: {x, y, width, height}, preprocess_ms, inference_ms}`, or
    /// an error saying what is wrong with the file. `top` has the `top_k` (default 5, at most
    /// the number of classes) most probable classes; `maps` are their class activation maps,
    /// to draw over `crop`, the part of the image the network saw.
    pub async fn classify(&self, image: Vec<u8>, top_k: Option<usize>) -> Result<JsValue, JsError> {
        let started = now_ms();
        let prepared = self.pipeline.prepare(&image).map_err(js_error)?;
        self.classify_prepared(prepared, started, top_k).await
    }

    /// Classifies an RGBA frame, `width x height` pixels (a canvas's `ImageData`: a camera
    /// frame), with no encoding or decoding; the answer is that of [`Classifier::classify`].
    pub async fn classify_rgba(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        top_k: Option<usize>,
    ) -> Result<JsValue, JsError> {
        let started = now_ms();
        let prepared = self.pipeline.prepare_rgba(&rgba, width, height).map_err(js_error)?;
        self.classify_prepared(prepared, started, top_k).await
    }

    /// Logits for an already preprocessed `[3, size, size]` input (benchmarks and tests).
    pub async fn logits_for(&self, input: Vec<f32>, size: usize) -> Result<Vec<f32>, JsError> {
        if input.len() != 3 * size * size {
            return Err(JsError::new("input length is not 3 x size x size"));
        }
        let outputs = self
            .pipeline
            .forward_inputs(&[&input], size)
            .map_err(js_error)?
            .read_async()
            .await
            .map_err(js_error)?;
        Ok(outputs.logits)
    }
}

impl Classifier {
    /// A classifier around an existing network on the host (tests, hash-derived weights).
    pub async fn from_network(network: Network, meta: WeightsMeta, allow_gpu: bool) -> Classifier {
        let loaded = LoadedWeights {
            network,
            meta,
            format: inception::weights::WeightsFormat::Burnpack,
        };
        Self::on_device(loaded, allow_gpu, Pipeline::new).await
    }

    async fn on_device(
        loaded: LoadedWeights,
        allow_gpu: bool,
        pipeline: fn(LoadedWeights, &Device) -> Pipeline,
    ) -> Classifier {
        let (device, backend) = init_device(allow_gpu).await;
        Classifier {
            pipeline: pipeline(loaded, &device),
            backend,
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    async fn classify_prepared(
        &self,
        prepared: Prepared,
        started: f64,
        top_k: Option<usize>,
    ) -> Result<JsValue, JsError> {
        let classes = self.pipeline.meta().num_classes;
        let top_k = top_k.unwrap_or(DEFAULT_TOP_K);
        if !(1..=classes).contains(&top_k) {
            return Err(JsError::new(&format!(
                "top_k is {top_k}: it must be 1 to {classes}, the number of classes"
            )));
        }
        let preprocessed = now_ms();
        let outputs = self
            .pipeline
            .forward(&[&prepared], true)
            .map_err(js_error)?
            .read_async()
            .await
            .map_err(js_error)?;
        let answer = self
            .pipeline
            .answers(outputs, top_k)
            .into_iter()
            .next()
            .ok_or_else(|| JsError::new("the network gave no result"))?
            .map_err(js_error)?;
        let maps = heat_maps(&answer);
        let result = Classification {
            top: answer.top,
            maps,
            crop: prepared.window,
            preprocess_ms: preprocessed - started,
            inference_ms: now_ms() - preprocessed,
        };
        serde_wasm_bindgen::to_value(&result).map_err(js_error)
    }
}

/// The top classes' maps, coloured for the page.
fn heat_maps(answer: &Answer) -> Vec<HeatMap> {
    let Some(maps) = &answer.maps else {
        return Vec::new();
    };
    answer
        .top
        .iter()
        .filter_map(|p| maps.of(p.index))
        .map(|m| HeatMap {
            class: m.class,
            width: m.width,
            height: m.height,
            rgba: m.heat_rgba(),
        })
        .collect()
}
