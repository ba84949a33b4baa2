//! The one path from an image file to its top classes, which every shell (the CLI, the web
//! page) runs:
//!
//! ```text
//! bytes --prepare--> Prepared (decoded, resized, cropped, normalised)
//!       --forward--> Pending (logits, class activation maps: tensors on the device)
//!       --read / read_async--> Outputs (values on the host)
//!       --answers--> Answer per image (top-k, logits, maps)
//! ```
//!
//! The shells only choose the readback: `read` blocks (native), `read_async` awaits (in a
//! browser, where a WebGPU readback cannot block).

use burn::prelude::*;
use image::RgbImage;
use serde::Serialize;

use crate::cam::{ClassMaps, every_class_map};
use crate::model::{InputTooSmall, Network};
use crate::preprocess::{CropWindow, ImageError, decode_image, rgb_from_rgba};
use crate::weights::{LoadedWeights, WeightsMeta};

/// What can go wrong between an image file and its classes.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    InputTooSmall(#[from] InputTooSmall),
    #[error(transparent)]
    NonFiniteLogits(#[from] NonFiniteLogits),
    #[error("reading the result back from the device: {0}")]
    Readback(String),
}

/// A network in its inference form with what it needs to take image files: its
/// preprocessing and its class names.
#[derive(Debug)]
pub struct Pipeline {
    network: Network,
    meta: WeightsMeta,
    labels: Vec<String>,
    device: Device,
}

/// One image as the network takes it.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The resized and cropped image, before normalisation (what a map is drawn over).
    pub crop: RgbImage,
    /// Where that crop lies in the decoded image, in its pixels.
    pub window: CropWindow,
    input: Vec<f32>,
}

/// A batch's results on the device, to be read back.
pub struct Pending {
    logits: Tensor<2>,
    maps: Option<Tensor<4>>,
}

/// A batch's results on the host.
pub struct Outputs {
    /// `[batch, classes]`, row-major.
    pub logits: Vec<f32>,
    /// Every class's activation map, `[batch, classes, height, width]`, with `(height, width)`.
    pub maps: Option<(Vec<f32>, usize, usize)>,
}

/// One image's classes.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The most probable classes, most probable first.
    pub top: Vec<Prediction>,
    pub logits: Vec<f32>,
    /// Every class's activation map, when the batch asked for them.
    pub maps: Option<ClassMaps>,
}

impl Pipeline {
    /// Loaded weights in their inference form (BatchNorm folded) on `device`.
    pub fn new(weights: LoadedWeights, device: &Device) -> Self {
        let network = weights.network.for_inference(device);
        Self::around(network, weights.meta, device)
    }

    /// Loaded weights as they were loaded, each BatchNorm a layer of its own, on `device`:
    /// for measuring what the inference form gives (the page's benchmark `fold=0`).
    pub fn unfolded(weights: LoadedWeights, device: &Device) -> Self {
        let network = weights.network.to_device(device);
        Self::around(network, weights.meta, device)
    }

    fn around(network: Network, meta: WeightsMeta, device: &Device) -> Self {
        Self {
            labels: meta.labels(),
            network,
            meta,
            device: device.clone(),
        }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn meta(&self) -> &WeightsMeta {
        &self.meta
    }

    /// Decodes an image file and applies the weights' eval transform.
    pub fn prepare(&self, bytes: &[u8]) -> Result<Prepared, ClassifyError> {
        Ok(self.prepare_image(&decode_image(bytes)?))
    }

    /// An RGBA frame (a camera's, a canvas's) through the same transform as a file: no
    /// encoding and decoding per frame.
    pub fn prepare_rgba(&self, rgba: &[u8], width: u32, height: u32) -> Result<Prepared, ClassifyError> {
        Ok(self.prepare_image(&rgb_from_rgba(rgba, width, height)?))
    }

    fn prepare_image(&self, decoded: &RgbImage) -> Prepared {
        let preprocess = &self.meta.preprocess;
        let crop = preprocess.resize_and_crop(decoded);
        Prepared {
            input: preprocess.normalize(&crop),
            window: preprocess.crop_window(decoded.width() as usize, decoded.height() as usize),
            crop,
        }
    }

    /// Runs a batch in one forward pass, with every class's activation map if `with_maps`.
    pub fn forward(&self, batch: &[&Prepared], with_maps: bool) -> Result<Pending, ClassifyError> {
        let inputs: Vec<&[f32]> = batch.iter().map(|p| p.input.as_slice()).collect();
        let size = self.meta.preprocess.input_size;
        let x = input_tensor(&self.network, &inputs, size, &self.device)?;
        if !with_maps {
            return Ok(Pending {
                logits: self.network.forward(x),
                maps: None,
            });
        }
        let (logits, features) = self.network.forward_with_features(x);
        Ok(Pending {
            logits,
            maps: Some(every_class_map(&self.network, features)),
        })
    }

    /// Logits for already preprocessed `[3, size, size]` inputs (benchmarks and tests).
    pub fn forward_inputs(&self, inputs: &[&[f32]], size: usize) -> Result<Pending, ClassifyError> {
        let x = input_tensor(&self.network, inputs, size, &self.device)?;
        Ok(Pending {
            logits: self.network.forward(x),
            maps: None,
        })
    }

    /// Each image's top `k` classes (and maps), from a batch's outputs.
    pub fn answers(&self, outputs: Outputs, k: usize) -> Vec<Result<Answer, ClassifyError>> {
        let classes = self.network.num_classes();
        let mut maps = outputs.maps.map(|(values, height, width)| {
            values
                .chunks_exact(classes * height * width)
                .map(|image| ClassMaps::new(image.to_vec(), height, width))
                .collect::<Vec<_>>()
                .into_iter()
        });
        outputs
            .logits
            .chunks_exact(classes)
            .map(|logits| {
                let top = top_k(logits, &self.labels, k)?;
                Ok(Answer {
                    top,
                    logits: logits.to_vec(),
                    maps: maps.as_mut().and_then(Iterator::next),
                })
            })
            .collect()
    }
}

impl Pending {
    /// Reads the results back, blocking until the device is done (native backends).
    pub fn read(self) -> Result<Outputs, ClassifyError> {
        let grid = self.map_grid();
        Ok(Outputs {
            logits: values(self.logits.try_into_data())?,
            maps: match self.maps {
                Some(maps) => Some((values(maps.try_into_data())?, grid.0, grid.1)),
                None => None,
            },
        })
    }

    /// Reads the results back without blocking (WebGPU in a browser).
    pub async fn read_async(self) -> Result<Outputs, ClassifyError> {
        let grid = self.map_grid();
        let logits = values(self.logits.into_data_async().await)?;
        let maps = match self.maps {
            Some(maps) => Some((values(maps.into_data_async().await)?, grid.0, grid.1)),
            None => None,
        };
        Ok(Outputs { logits, maps })
    }

    fn map_grid(&self) -> (usize, usize) {
        self.maps.as_ref().map_or((0, 0), |m| {
            let [_, _, h, w] = m.dims();
            (h, w)
        })
    }
}

fn values<E: std::fmt::Debug>(data: Result<TensorData, E>) -> Result<Vec<f32>, ClassifyError> {
    let readback = |e: &dyn std::fmt::Debug| ClassifyError::Readback(format!("{e:?}"));
    data.map_err(|e| readback(&e))?
        .try_to_vec::<f32>()
        .map_err(|e| readback(&e))
}

// Turning logits into answers: softmax and top-k with class names (no tensors).

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Prediction {
    pub index: usize,
    pub label: String,
    pub probability: f32,
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|&e| (e / sum) as f32).collect()
}

/// Logits that are not numbers: broken weights (the loaders refuse non-finite tensors, so
/// this means values that overflow), never a result to show.
#[derive(Debug, thiserror::Error)]
#[error("the network's output is not finite ({count} of {total} logits are NaN or infinite): the weights are broken")]
pub struct NonFiniteLogits {
    pub count: usize,
    pub total: usize,
}

/// The `k` most probable classes, most probable first (ties by lower index).
pub fn top_k(logits: &[f32], labels: &[String], k: usize) -> Result<Vec<Prediction>, NonFiniteLogits> {
    let count = logits.iter().filter(|l| !l.is_finite()).count();
    if count > 0 {
        return Err(NonFiniteLogits {
            count,
            total: logits.len(),
        });
    }
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    Ok(order
        .into_iter()
        .take(k)
        .map(|i| Prediction {
            index: i,
            label: labels.get(i).cloned().unwrap_or_else(|| format!("class {i}")),
            probability: probs[i],
        })
        .collect())
}

/// Stacks preprocessed CHW images of one size into a `[n, 3, size, size]` tensor, after
/// checking that the network accepts that size (burn would panic on a too-small input).
pub fn input_tensor(
    network: &Network,
    images: &[&[f32]],
    size: usize,
    device: &Device,
) -> Result<Tensor<4>, InputTooSmall> {
    network.check_input(size, size)?;
    let data: Vec<f32> = images.iter().flat_map(|i| i.iter().copied()).collect();
    Ok(Tensor::from_data(
        TensorData::new(data, [images.len(), 3, size, size]),
        device,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_normalises() {
        let labels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let top = top_k(&[1.0, 3.0, 2.0, 3.0], &labels, 3).unwrap();
        assert_eq!(top.iter().map(|p| p.index).collect::<Vec<_>>(), vec![1, 3, 2]);
        let total: f32 = softmax(&[1.0, 3.0, 2.0, 3.0]).iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!((top[0].probability - top[1].probability).abs() < 1e-7);
    }

    #[test]
    fn non_finite_logits_are_an_error() {
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let err = top_k(&[1.0, bad, 2.0], &labels, 2).unwrap_err();
            assert_eq!((err.count, err.total), (1, 3));
        }
    }

    #[test]
    fn softmax_survives_huge_logits() {
        let p = softmax(&[1e30, 0.0, -1e30]);
        assert!((p[0] - 1.0).abs() < 1e-6 && p.iter().all(|x| x.is_finite()));
    }
}
