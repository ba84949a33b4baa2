//! Shapes and costs without running the network: each block's output shape for an input
//! shape, the FLOPs on the way, and a clear error when an input is too small for the
//! stride-2 reductions (burn would panic inside the convolution instead).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;

/// `[channels, height, width]` of one image's feature map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FeatureShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl FeatureShape {
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    pub fn with_channels(self, channels: usize) -> Self {
        Self { channels, ..self }
    }
}

impl std::fmt::Display for FeatureShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "input too small: layer `{layer}` needs at least {kernel_h}x{kernel_w} pixels but gets {}x{}",
    input.height,
    input.width
)]
pub struct InputTooSmall {
    pub layer: String,
    pub input: FeatureShape,
    pub kernel_h: usize,
    pub kernel_w: usize,
}

/// The running cost of a shape walk: multiply-add FLOPs (2 per MAC, convolutions and the
/// classifier only, as `torch.utils.flop_counter` counts them), and the name of the
/// top-level block being walked, for the error.
#[derive(Debug, Default)]
pub struct Cost {
    pub flops: u64,
    pub block: String,
}

fn out_size(size: usize, pad: usize, kernel: usize, stride: usize) -> Option<usize> {
    (size + pad).checked_sub(kernel).map(|s| s / stride + 1)
}

/// `(top, left, bottom, right)` padding of a 2D layer with a `kernel` window.
fn pads(padding: &PaddingConfig2d, kernel: [usize; 2]) -> [usize; 4] {
    let [kh, kw] = kernel;
    match *padding {
        PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Same => [(kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2],
    }
}

impl Cost {
    /// The output grid of a `kernel` window moved by `stride` over `input` with `pads`.
    fn window(
        &self,
        input: FeatureShape,
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
    ) -> Result<(usize, usize), InputTooSmall> {
        let h = out_size(input.height, pads[0] + pads[2], kernel[0], stride[0]);
        let w = out_size(input.width, pads[1] + pads[3], kernel[1], stride[1]);
        match (h, w) {
            (Some(h), Some(w)) if h > 0 && w > 0 => Ok((h, w)),
            _ => Err(InputTooSmall {
                layer: self.block.clone(),
                input,
                kernel_h: kernel[0],
                kernel_w: kernel[1],
            }),
        }
    }

    pub fn conv2d(&mut self, conv: &Conv2d, input: FeatureShape) -> Result<FeatureShape, InputTooSmall> {
        let [out_c, in_per_group, kh, kw] = conv.weight.dims();
        let (h, w) = self.window(input, [kh, kw], conv.stride, pads(&conv.padding, [kh, kw]))?;
        self.flops += 2 * (out_c * in_per_group * kh * kw * h * w) as u64;
        Ok(FeatureShape::new(out_c, h, w))
    }

    pub fn max_pool2d(&mut self, pool: &MaxPool2d, input: FeatureShape) -> Result<FeatureShape, InputTooSmall> {
        let (h, w) = self.window(
            input,
            pool.kernel_size,
            pool.stride,
            pads(&pool.padding, pool.kernel_size),
        )?;
        Ok(FeatureShape::new(input.channels, h, w))
    }

    pub fn linear(&mut self, in_features: usize, out_features: usize) {
        self.flops += 2 * (in_features * out_features) as u64;
    }
}
