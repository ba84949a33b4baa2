//! The object a Web Worker holds: the network, its labels and preprocessing, its device.

use burn::prelude::*;
use inception::cam::{class_activation_maps, split_maps};
use inception::inference::{batch_input, top_k};
use inception::preprocess::CropWindow;
use inception::{Network, WeightsMeta, decode_image, load_weights};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::device::{Backend, init_device};

#[wasm_bindgen]
pub struct Classifier {
    network: Network,
    meta: WeightsMeta,
    labels: Vec<String>,
    device: Device,
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

#[derive(Serialize)]
struct Classification {
    top5: Vec<inception::inference::Prediction>,
    /// Where the network looked, for each of the top 5 (same order).
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
        let (device, backend) = init_device(allow_gpu).await;
        // Loaded on the host, where the BatchNorm fold runs, then moved to `device`.
        let loaded = load_weights(weights, None, "page", &Device::flex()).map_err(js_error)?;
        let labels = loaded.meta.labels();
        Ok(Classifier {
            network: loaded.network.for_inference(&device),
            meta: loaded.meta,
            labels,
            device,
            backend,
        })
    }

    /// `{arch, num_classes, input_size, source, dtype, backend: {kind, fallback_reason}}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        let info = Info {
            arch: self.meta.arch.name(),
            num_classes: self.meta.num_classes,
            input_size: self.meta.preprocess.input_size,
            source: &self.meta.source,
            dtype: self.meta.dtype.name(),
            backend: &self.backend,
        };
        serde_wasm_bindgen::to_value(&info).map_err(js_error)
    }

    /// Classifies an image file's bytes: `{top5: [{index, label, probability}], maps: [{class,
    /// width, height, rgba}], crop: {x, y, width, height}, preprocess_ms, inference_ms}`, or
    /// an error saying what is wrong with the file. `maps` are the top 5's class activation
    /// maps, to draw over `crop`, the part of the image the network saw.
    pub async fn classify(&self, image: Vec<u8>) -> Result<JsValue, JsError> {
        let started = now_ms();
        let decoded = decode_image(&image).map_err(js_error)?;
        let preprocess = &self.meta.preprocess;
        let input = preprocess.apply(&decoded);
        let crop = preprocess.crop_window(decoded.width() as usize, decoded.height() as usize);
        let preprocessed = now_ms();
        let size = preprocess.input_size;
        let x = batch_input(&self.network, &[input], size, &self.device).map_err(js_error)?;
        let (logits, features) = self.network.forward_with_features(x);
        let top5 = top_k(&read(logits).await?, &self.labels, 5).map_err(js_error)?;
        let classes: Vec<usize> = top5.iter().map(|p| p.index).collect();
        let [_, _, height, width] = features.dims();
        let cams = class_activation_maps(&self.network, features, &classes).map_err(js_error)?;
        let maps = split_maps(&read(cams).await?, &classes, height, width)
            .into_iter()
            .map(|m| HeatMap {
                class: m.class,
                width: m.width,
                height: m.height,
                rgba: m.heat_rgba(),
            })
            .collect();
        let result = Classification {
            top5,
            maps,
            crop,
            preprocess_ms: preprocessed - started,
            inference_ms: now_ms() - preprocessed,
        };
        serde_wasm_bindgen::to_value(&result).map_err(js_error)
    }

    /// Logits for an already preprocessed `[3, size, size]` input (benchmarks and tests).
    pub async fn logits_for(&self, input: Vec<f32>, size: usize) -> Result<Vec<f32>, JsError> {
        self.logits(&[input], size).await
    }
}

impl Classifier {
    /// A classifier around an existing network on the host (tests, synthetic weights).
    pub async fn from_network(network: Network, meta: WeightsMeta, allow_gpu: bool) -> Classifier {
        let (device, backend) = init_device(allow_gpu).await;
        let network = network.for_inference(&device);
        let labels = meta.labels();
        Classifier {
            network,
            meta,
            labels,
            device,
            backend,
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    async fn logits(&self, inputs: &[Vec<f32>], size: usize) -> Result<Vec<f32>, JsError> {
        if inputs.iter().any(|i| i.len() != 3 * size * size) {
            return Err(JsError::new("input length is not 3 x size x size"));
        }
        let x = batch_input(&self.network, inputs, size, &self.device).map_err(js_error)?;
        read(self.network.forward(x)).await
    }
}

/// A tensor's values, read back from the device (asynchronously: WebGPU cannot block).
async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, JsError> {
    let data = tensor.into_data_async().await.map_err(|e| js_error(format!("{e:?}")))?;
    data.try_to_vec::<f32>().map_err(|e| js_error(format!("{e:?}")))
}
