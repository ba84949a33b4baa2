//! The inference network's convolutions, each with its bias, residual sum and ReLU, in one
//! GEMM and one pass over its output on the CPU.
//!
//! Every convolution of these networks is followed by a bias (a folded BatchNorm, or the
//! residual projection's own) and then a ReLU, a scaled residual sum, or both. burn runs
//! those as separate operations, and burn-flex runs the convolution itself around its GEMM
//! with four more passes over memory per call: the weights reordered, the input transposed to
//! channels-last, an im2col per tile, and the product scattered back to channels-first, the
//! first two single-threaded.
//!
//! On the Flex backend (the CLI's CPU backend and the page without WebGPU) this module skips
//! all of them. In channels-first layout a convolution is `W [c_out, c_in·kh·kw] x
//! cols [c_in·kh·kw, h·w]`, where the checkpoint's weight tensor is already `W` row by row
//! and `cols` is the input itself for a 1x1 convolution of stride 1 (most of these
//! networks' layers): no copy of either. Other kernels cut the output pixels into tiles, and
//! the thread that multiplies a tile builds its `cols` (im2col) first, small enough to stay
//! in that core's cache. Either way a convolution is one parallel step. The GEMM (the `gemm`
//! crate, with its AVX-512 kernels on x86-64 and SIMD128 on wasm) accumulates straight onto
//! the residual when there is one (`dst = x + scale · W·cols`), or writes a fresh buffer
//! that nothing zeroes first, and one pass over the block it wrote adds the bias and
//! applies the ReLU.
//!
//! Any other backend, an autodiff tensor (training) or an unusual convolution (groups,
//! dilation, another dtype) runs the same function with burn's operations ([`reference`]),
//! which the parity tests compare with timm on every backend.

use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::conv::calculate_conv_output_size;
use burn::backend::{DispatchDevice, Flex};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the Flex backend runs the fused path (the default). Off, every convolution runs
/// as [`reference`] and every pool as burn's ([`super::fused_pool`]): `inception bench
/// --forms unfused` measures the difference in one run.
static FUSED_KERNELS: AtomicBool = AtomicBool::new(true);

/// Turns the fused CPU path on or off for the whole process (a benchmark's switch; results
/// are the same either way, to float rounding).
pub fn use_fused_kernels(on: bool) {
    FUSED_KERNELS.store(on, Ordering::Relaxed);
}

/// What follows a convolution: `relu?(residual + scale · (conv(x) + bias))`.
#[derive(Clone, Debug)]
pub struct Epilogue {
    /// The block's input, added after scaling (a residual block's sum).
    pub residual: Option<Tensor<4>>,
    /// The factor on the convolution's output (residual scaling; 1 otherwise).
    pub scale: Option<f32>,
    pub relu: bool,
}

impl Epilogue {
    /// `relu(conv(x) + bias)`: a folded `BasicConv2d`.
    pub fn relu() -> Self {
        Self {
            residual: None,
            scale: None,
            relu: true,
        }
    }

    /// `relu?(residual + scale · (conv(x) + bias))`: a residual block's sum.
    pub fn residual(residual: Tensor<4>, scale: Option<f32>, relu: bool) -> Self {
        Self {
            residual: Some(residual),
            scale,
            relu,
        }
    }
}

/// A convolution with its bias and epilogue. On a non-autodiff Flex tensor of f32 it runs as
/// one GEMM and one pass; elsewhere as [`reference`].
pub fn conv2d_fused(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
    epilogue: Epilogue,
) -> Tensor<4> {
    if !runs_fused(&x, &weight, bias.as_ref(), &options, &epilogue) {
        return reference(x, weight, bias, options, epilogue);
    }
    let flex = |t: Tensor<4>| t.try_into_primitive::<Flex>();
    let (Ok(xf), Ok(wf)) = (flex(x.clone()), flex(weight.clone())) else {
        return reference(x, weight, bias, options, epilogue);
    };
    let Epilogue { residual, scale, relu } = epilogue;
    // runs_fused checked that each is a plain Flex tensor, so these conversions hold.
    let bias = bias.map(|b| b.try_into_primitive::<Flex>().expect("a Flex f32 bias"));
    // Moved, not cloned: a residual that nothing else holds is summed into in place.
    let residual = residual.map(|r| flex(r).expect("a Flex f32 residual"));
    Tensor::from_primitive::<Flex>(conv_flex(xf, wf, bias.as_ref(), &options, residual, scale, relu))
}

/// A `Conv2d` layer (the residual projection) with its epilogue.
pub fn conv2d_layer_fused(layer: &Conv2d, x: Tensor<4>, epilogue: Epilogue) -> Tensor<4> {
    let Some(options) = conv_options(layer) else {
        return reference_layer(layer, x, epilogue);
    };
    conv2d_fused(
        x,
        layer.weight.val(),
        layer.bias.as_ref().map(|b| b.val()),
        options,
        epilogue,
    )
}

/// The same function in burn's operations, on any backend (and differentiable).
pub fn reference(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
    epilogue: Epilogue,
) -> Tensor<4> {
    finish(conv2d(x, weight, bias, options), epilogue)
}

fn reference_layer(layer: &Conv2d, x: Tensor<4>, epilogue: Epilogue) -> Tensor<4> {
    finish(layer.forward(x), epilogue)
}

fn finish(conv: Tensor<4>, epilogue: Epilogue) -> Tensor<4> {
    let scaled = match epilogue.scale {
        Some(s) => conv.mul_scalar(s),
        None => conv,
    };
    let sum = match epilogue.residual {
        Some(residual) => residual + scaled,
        None => scaled,
    };
    if epilogue.relu { relu(sum) } else { sum }
}

/// The options `Conv2d::forward` builds, for an explicitly padded layer (every layer here).
pub fn conv_options(layer: &Conv2d) -> Option<ConvOptions<2>> {
    let padding = match layer.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        _ => return None,
    };
    Some(ConvOptions::new_with_padding(
        layer.stride,
        padding,
        layer.dilation,
        layer.groups,
    ))
}

/// Whether the fused CPU kernels run (see [`use_fused_kernels`]).
pub(crate) fn fused_kernels_on() -> bool {
    FUSED_KERNELS.load(Ordering::Relaxed)
}

/// A plain (not autodiff) f32 tensor on the Flex backend.
pub(crate) fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    let device = t.device();
    matches!(device.as_dispatch(), DispatchDevice::Flex(_)) && !device.is_autodiff() && t.dtype() == DType::F32
}

fn runs_fused(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: Option<&Tensor<1>>,
    options: &ConvOptions<2>,
    epilogue: &Epilogue,
) -> bool {
    let [(top, bottom), (left, right)] = options.padding;
    fused_kernels_on()
        && on_flex(x)
        && on_flex(weight)
        && bias.is_none_or(on_flex)
        && epilogue.residual.as_ref().is_none_or(on_flex)
        && options.groups == 1
        && options.dilation == [1, 1]
        && top == bottom
        && left == right
}

/// Channels-first convolution as one GEMM per image: `out = relu?(r + s · (W·cols + b))`.
fn conv_flex(
    x: FlexTensor,
    w: FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvOptions<2>,
    residual: Option<FlexTensor>,
    scale: Option<f32>,
    relu: bool,
) -> FlexTensor {
    let x = x.to_contiguous();
    let w = w.to_contiguous();
    let &[n, c_in, h, wd] = x.layout().shape().as_slice() else {
        unreachable!("a rank-4 tensor")
    };
    let &[c_out, _, kh, kw] = w.layout().shape().as_slice() else {
        unreachable!("a rank-4 tensor")
    };
    let geometry = Geometry::new([c_in, h, wd], [kh, kw], options.stride, options.padding);
    let [oh, ow] = geometry.out;
    let (k, hw) = (c_in * kh * kw, oh * ow);
    let x_data = contiguous_f32(&x);
    let w_data = contiguous_f32(&w);
    let bias = bias.map(|b| b.to_contiguous());
    let bias_data = bias.as_ref().map(contiguous_f32);
    let scale = scale.unwrap_or(1.0);

    // The output starts as the residual (the GEMM accumulates onto it), reusing its buffer
    // when nothing else holds it. Otherwise it is a fresh buffer that the GEMM writes whole,
    // so it is not zeroed first.
    let out_shape = [n, c_out, oh, ow];
    let len = n * c_out * hw;
    let mut residual = residual.map(|r| {
        let r = dense(r);
        assert_eq!(
            r.layout().shape().as_slice(),
            out_shape,
            "residual of the output's shape"
        );
        r
    });
    let mut fresh: Vec<f32> = Vec::new();
    let (out_data, accumulate): (&mut [MaybeUninit<f32>], bool) = match residual.as_mut() {
        Some(r) => {
            let data: &mut [f32] = r.storage_mut();
            assert_eq!(data.len(), len, "a dense residual buffer");
            // SAFETY: MaybeUninit<f32> has f32's layout, and only f32 values are written.
            let data = unsafe { &mut *(data as *mut [f32] as *mut [MaybeUninit<f32>]) };
            (data, true)
        }
        None => {
            fresh.reserve_exact(len);
            (&mut fresh.spare_capacity_mut()[..len], false)
        }
    };

    let out = OutPtr(out_data.as_mut_ptr().cast::<f32>());
    // Output channels `channels` at output pixels `pixels` of image `image`: one GEMM with
    // `rhs` (`[k, pixels.len()]`, rows `rhs_stride` apart), then the bias and ReLU.
    let product = |image: usize, rhs: &[f32], rhs_stride: usize, channels: Range<usize>, pixels: Range<usize>| {
        let first = image * c_out * hw + channels.start * hw + pixels.start;
        assert!(
            channels.end <= c_out && pixels.end <= hw && rhs.len() >= (k - 1) * rhs_stride + pixels.len(),
            "a block inside the convolution"
        );
        // SAFETY: dst is channels.len() x pixels.len() with rows hw apart, inside image
        // `image` of the output (checked above); lhs is rows `channels` of W (c_out x k) and
        // rhs k x pixels.len() inside `rhs` (checked above). The blocks that the calls below
        // hand out are disjoint, so no two calls write the same element. Without
        // `accumulate` gemm only writes dst, never reads it.
        unsafe {
            gemm::gemm(
                channels.len(),
                pixels.len(),
                k,
                out.at(first),
                1,
                hw as isize,
                accumulate,
                w_data[channels.start * k..].as_ptr(),
                1,
                k as isize,
                rhs.as_ptr(),
                1,
                rhs_stride as isize,
                1.0,
                scale,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for (row, channel) in channels.enumerate() {
            // SAFETY: these elements are inside this call's block, which the GEMM has just
            // written, and no other call touches them.
            let values = unsafe { std::slice::from_raw_parts_mut(out.at(first + row * hw), pixels.len()) };
            let shift = bias_data.map_or(0.0, |b| scale * b[channel]);
            for v in values {
                let y = *v + shift;
                // `y < 0` keeps a NaN a NaN, as burn's ReLU does.
                *v = if relu && y < 0.0 { 0.0 } else { y };
            }
        }
    };
    let image_len = c_in * h * wd;
    let threads = rayon::current_num_threads();
    if geometry.is_identity() {
        // A 1x1 convolution of stride 1 reads the image as it is.
        if n >= threads {
            // As many images as threads: an image a thread.
            (0..n).into_par_iter().for_each(|i| {
                product(i, &x_data[i * image_len..][..image_len], hw, 0..c_out, 0..hw);
            });
        } else {
            // A photo at a time: each image's output channels in one block a thread, so
            // that the convolution is one parallel step. gemm's own threading takes a step
            // per block of its loops, each waking the other threads: in WebAssembly's
            // threads that made two threads slower than one.
            let block = c_out.div_ceil(threads);
            for i in 0..n {
                (0..c_out.div_ceil(block)).into_par_iter().for_each(|b| {
                    let channels = b * block..c_out.min((b + 1) * block);
                    product(i, &x_data[i * image_len..][..image_len], hw, channels, 0..hw);
                });
            }
        }
    } else {
        // Other kernels: the output pixels in tiles, each tile's im2col built by the thread
        // that multiplies it, small enough to stay in its cache, all in one parallel step.
        let tiles = geometry.pixel_tiles(threads.div_ceil(n));
        let per_image = hw.div_ceil(tiles);
        (0..n * tiles).into_par_iter().for_each(|t| {
            let (i, tile) = (t / tiles, t % tiles);
            let pixels = tile * per_image..hw.min((tile + 1) * per_image);
            if pixels.is_empty() {
                return;
            }
            let image = &x_data[i * image_len..][..image_len];
            geometry.with_columns(image, pixels.clone(), |cols| {
                product(i, cols, pixels.len(), 0..c_out, pixels.clone());
            });
        });
    }
    match residual {
        Some(r) => r,
        None => {
            // SAFETY: the blocks handed to `product` cover every image's every channel and
            // pixel, and each GEMM wrote its whole block.
            unsafe { fresh.set_len(len) };
            // A Vec<f32> is taken over as it is (FlexTensor::empty's byte vector would be
            // zeroed, then copied again to reach Bytes' alignment).
            FlexTensor::new(
                Bytes::from_elems(fresh),
                Layout::contiguous(Shape::from(out_shape.to_vec())),
                DType::F32,
            )
        }
    }
}

/// The output buffer, shared by the parallel GEMMs that each write a block of their own.
struct OutPtr(*mut f32);

// SAFETY: the pointer is only written through in blocks that no two tasks share.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The element at `offset` (a method, so that closures capture the whole `OutPtr`).
    fn at(&self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// `t` as a tensor that owns its whole buffer in row-major order (no view into a larger
/// one), so that writing the buffer writes exactly the tensor. Moved, not cloned: a tensor
/// nobody else holds is then written in place.
fn dense(t: FlexTensor) -> FlexTensor {
    let n = t.layout().num_elements();
    if t.layout().contiguous_offsets() == Some((0, n)) && t.bytes().len() == n * size_of::<f32>() {
        t
    } else {
        t.to_contiguous()
    }
}

fn contiguous_f32(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 tensor")
}

/// Where each output pixel reads from: one image's convolution geometry.
struct Geometry {
    input: [usize; 3],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    out: [usize; 2],
}

impl Geometry {
    fn new(input: [usize; 3], kernel: [usize; 2], stride: [usize; 2], padding: [(usize, usize); 2]) -> Self {
        let padding = [padding[0].0, padding[1].0];
        let out = [0, 1].map(|d| calculate_conv_output_size(kernel[d], stride[d], padding[d], 1, input[d + 1]));
        Self {
            input,
            kernel,
            stride,
            padding,
            out,
        }
    }

    /// A 1x1 convolution of stride 1 without padding: the input is its own im2col.
    fn is_identity(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// How many tiles to cut one image's output pixels into: at least `min_tiles` (so that
    /// every thread has one), and more when a tile's im2col would not stay in a core's cache.
    /// Never tiles of under 64 pixels (a GEMM that narrow runs slowly) unless `min_tiles`
    /// asks for them.
    fn pixel_tiles(&self, min_tiles: usize) -> usize {
        /// An im2col tile this size stays in a core's L2 cache (1-2 MiB on today's x86-64)
        /// while the GEMM reads it.
        const TILE_BYTES: usize = 512 * 1024;
        let [c_in, ..] = self.input;
        let ([kh, kw], [oh, ow]) = (self.kernel, self.out);
        let (column_bytes, pixels) = (c_in * kh * kw * size_of::<f32>(), oh * ow);
        let by_cache = (pixels * column_bytes).div_ceil(TILE_BYTES).min(pixels.div_ceil(64));
        // A multiple of min_tiles, so that the threads get equal shares.
        by_cache.max(1).div_ceil(min_tiles.max(1)) * min_tiles.max(1)
    }

    /// Runs `f` on the im2col of output pixels `pixels` of one image (row-major pixel order):
    /// `[c_in·kh·kw, pixels.len()]`. It goes into a buffer that each thread keeps (as large
    /// as the largest tile it has built), so that a pass neither allocates, zeroes nor
    /// page-faults it again.
    fn with_columns<R>(&self, image: &[f32], pixels: Range<usize>, f: impl FnOnce(&[f32]) -> R) -> R {
        thread_local! {
            static COLUMNS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
        }
        let [c_in, ..] = self.input;
        let [kh, kw] = self.kernel;
        let len = c_in * kh * kw * pixels.len();
        // Taken, not borrowed: a call nested on this thread (rayon runs other work while it
        // waits) finds the cell empty and uses a buffer of its own.
        let mut cols = COLUMNS.take();
        if cols.len() < len {
            cols.resize(len, 0.0);
        }
        self.im2col(image, pixels, &mut cols[..len]);
        let result = f(&cols[..len]);
        COLUMNS.set(cols);
        result
    }

    /// `cols[(c, ky, kx), p] = image[c, oy·sy + ky - py, ox·sx + kx - px]` for the output
    /// pixels `p = (oy, ox)` in `pixels`, zero outside the image. Every element is written.
    fn im2col(&self, image: &[f32], pixels: Range<usize>, cols: &mut [f32]) {
        let [_, h, w] = self.input;
        let [kh, kw] = self.kernel;
        let ow = self.out[1];
        let [sy, sx] = self.stride;
        let [py, px] = self.padding;
        let width = pixels.len();
        let taps = (0..kh).flat_map(|ky| (0..kw).map(move |kx| (ky, kx)));
        let planes = image
            .chunks_exact(h * w)
            .flat_map(|plane| taps.clone().map(move |tap| (plane, tap)));
        for (row, (plane, (ky, kx))) in cols.chunks_exact_mut(width).zip(planes) {
            let [y_first, y_end] = self.valid_range(0, ky);
            let [x_first, x_end] = self.valid_range(1, kx);
            let mut p = pixels.start;
            while p < pixels.end {
                // The part of output row `oy` inside the tile: columns [ox0, ox1).
                let (oy, ox0) = (p / ow, p % ow);
                let ox1 = ow.min(ox0 + pixels.end - p);
                let out = &mut row[p - pixels.start..][..ox1 - ox0];
                p += ox1 - ox0;
                if !(y_first..y_end).contains(&oy) {
                    out.fill(0.0);
                    continue;
                }
                // The columns whose input lies inside the image: [a, b).
                let a = x_first.clamp(ox0, ox1);
                let b = x_end.clamp(a, ox1);
                out[..a - ox0].fill(0.0);
                out[b - ox0..].fill(0.0);
                if a == b {
                    continue;
                }
                let line = &plane[(oy * sy + ky - py) * w..][..w];
                let first = a * sx + kx - px;
                let valid = &mut out[a - ox0..b - ox0];
                if sx == 1 {
                    valid.copy_from_slice(&line[first..first + valid.len()]);
                } else {
                    for (o, v) in valid.iter_mut().enumerate() {
                        *v = line[first + o * sx];
                    }
                }
            }
        }
    }

    /// The output positions `[first, end)` along axis `d` (0 rows, 1 columns) whose input
    /// position for kernel offset `k` lies inside the image.
    fn valid_range(&self, d: usize, k: usize) -> [usize; 2] {
        let (s, p, size, out) = (self.stride[d], self.padding[d], self.input[d + 1], self.out[d]);
        // o·s + k - p >= 0  <=>  o >= ceil((p - k) / s)
        let first = if p > k { (p - k).div_ceil(s) } else { 0 };
        // o·s + k - p <= size - 1  <=>  o <= (size - 1 + p - k) / s
        let end = if size + p > k {
            ((size - 1 + p - k) / s + 1).min(out)
        } else {
            0
        };
        [first.min(end), end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hashed::hashed_tensor as random;
    use inception_test_support::max_abs_diff;

    /// The largest difference, relative to the largest magnitude of `expected`.
    fn max_relative_diff(a: Tensor<4>, expected: Tensor<4>) -> f32 {
        let a: Vec<f32> = a.into_data().try_to_vec::<f32>().expect("f32 data");
        let b: Vec<f32> = expected.into_data().try_to_vec::<f32>().expect("f32 data");
        let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        max_abs_diff(&a, &b) / scale
    }

    /// Every kind of convolution these networks have (1x1, 3x3 with and without padding,
    /// strided, the factorised 1xk / kx1), at odd sizes and at a size cut into several
    /// tiles, fused against burn's own convolution
    /// on the same device. On three threads, at batch 1 (a 1x1's output channels split over
    /// the threads in uneven blocks, other kernels' output pixels in tiles) and batch 4.
    #[test]
    fn fused_convolutions_equal_burns() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a thread pool");
        for batch in [1, 4] {
            pool.install(|| fused_convolutions_equal_burns_at(batch));
        }
    }

    fn fused_convolutions_equal_burns_at(batch: usize) {
        let device = Device::flex();
        // (c_in, c_out, [kh, kw], stride, [ph, pw], [h, w])
        let cases = [
            (5, 7, [1, 1], 1, [0, 0], [9, 7]),
            (4, 6, [3, 3], 1, [1, 1], [9, 7]),
            (3, 8, [3, 3], 2, [0, 0], [11, 9]),
            (4, 5, [3, 3], 2, [1, 1], [8, 7]),
            (6, 4, [1, 7], 1, [0, 3], [5, 9]),
            (6, 4, [7, 1], 1, [3, 0], [9, 5]),
            (6, 4, [1, 3], 1, [0, 1], [4, 4]),
            (6, 4, [3, 1], 1, [1, 0], [4, 4]),
            (3, 4, [5, 5], 1, [2, 2], [3, 3]),
            (2, 3, [1, 1], 2, [0, 0], [7, 7]),
            // An im2col of several tiles per thread (Geometry::pixel_tiles).
            (64, 8, [3, 3], 1, [1, 1], [40, 40]),
        ];
        for (i, (c_in, c_out, [kh, kw], stride, [ph, pw], [h, w])) in cases.into_iter().enumerate() {
            let seed = 10 * i as u64;
            let x = random([batch, c_in, h, w], seed, &device);
            let weight = random([c_out, c_in, kh, kw], seed + 1, &device);
            let bias: Tensor<1> = random([1, 1, 1, c_out], seed + 2, &device).reshape([c_out]);
            let options = ConvOptions::new_with_padding([stride; 2], [(ph, ph), (pw, pw)], [1, 1], 1);
            let out_shape = conv2d(x.clone(), weight.clone(), None, options.clone()).dims();
            // Built anew for each call: the fused call's residual is then held by nothing
            // else, and is summed into in place.
            let epilogue = |kind: usize| match kind {
                0 => Epilogue::relu(),
                1 => Epilogue::residual(random(out_shape, seed + 3, &device), Some(0.17), true),
                _ => Epilogue::residual(random(out_shape, seed + 4, &device), None, false),
            };
            for kind in 0..3 {
                let takes_fused_path = runs_fused(&x, &weight, Some(&bias), &options, &epilogue(kind));
                assert!(takes_fused_path, "case {i} takes the fused path");
                let fused = conv2d_fused(
                    x.clone(),
                    weight.clone(),
                    Some(bias.clone()),
                    options.clone(),
                    epilogue(kind),
                );
                let expected = reference(
                    x.clone(),
                    weight.clone(),
                    Some(bias.clone()),
                    options.clone(),
                    epilogue(kind),
                );
                assert_eq!(fused.dims(), expected.dims(), "case {i}, batch {batch}");
                let diff = max_relative_diff(fused, expected);
                assert!(
                    diff < 1e-5,
                    "case {i}, batch {batch}, epilogue {kind}: relative difference {diff}"
                );
            }
        }
    }

    /// The fused path does not leave a residual (the block's input, which other branches may
    /// still hold) changed.
    #[test]
    fn the_residual_input_is_left_as_it_was() {
        let device = Device::flex();
        let x = random([1, 4, 5, 5], 1, &device);
        let weight = random([4, 4, 1, 1], 2, &device);
        let before: Vec<f32> = x.clone().into_data().try_to_vec::<f32>().expect("f32 data");
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let out = conv2d_fused(
            x.clone(),
            weight,
            None,
            options,
            Epilogue::residual(x.clone(), Some(0.5), true),
        );
        let after: Vec<f32> = x.into_data().try_to_vec::<f32>().expect("f32 data");
        assert_eq!(before, after);
        assert_ne!(out.into_data().try_to_vec::<f32>().expect("f32 data"), before);
    }
}
