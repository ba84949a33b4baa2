//! The networks' two pools (3x3 stride-2 max, 3x3 stride-1 average over real pixels) on the
//! CPU in one parallel pass.
//!
//! burn-flex runs a max pool through its pool-with-indices kernel on one thread, and it
//! computes an index for every output that inference throws away: measured on one thread,
//! the two stem max pools of Inception-ResNet-v2 took 19 ms of a 326 ms pass, and on two
//! threads the second core waited meanwhile. Here each channel plane is a task, and each
//! output row first reduces its window's rows into one line (contiguous, so the compiler
//! vectorises it), then reduces that line across the window.
//!
//! Other backends, autodiff tensors (training), other dtypes and options this code does not
//! cover (dilation, ceil mode, asymmetric padding) run burn's own pool, as does everything
//! when [`super::fused::use_fused_kernels`] is off.

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::prelude::*;
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;

use super::fused::{fused_kernels_on, on_flex};

/// `pool.forward(x)`, on Flex in one parallel pass.
pub fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    match Window::of(
        pool.kernel_size,
        pool.stride,
        &pool.padding,
        pool.dilation,
        pool.ceil_mode,
    ) {
        Some(window) if runs_fused(&x, window) => pool_flex(x, window, Reduce::Max),
        _ => pool.forward(x),
    }
}

/// `pool.forward(x)`, on Flex in one parallel pass.
pub fn avg_pool2d(pool: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    let reduce = Reduce::Mean {
        count_padding: pool.count_include_pad,
    };
    match Window::of(pool.kernel_size, pool.stride, &pool.padding, [1, 1], pool.ceil_mode) {
        Some(window) if runs_fused(&x, window) => pool_flex(x, window, reduce),
        _ => pool.forward(x),
    }
}

/// A plain Flex f32 tensor that the window fits (a window larger than the padded input is
/// left to burn's pool, which says so).
fn runs_fused(x: &Tensor<4>, window: Window) -> bool {
    let [_, _, h, w] = x.dims();
    fused_kernels_on() && on_flex(x) && window.out_len(0, h).is_some() && window.out_len(1, w).is_some()
}

#[derive(Clone, Copy)]
enum Reduce {
    Max,
    /// The window's mean; `count_padding` divides by the whole window, as if padding were
    /// zeros, instead of by the real pixels in it.
    Mean {
        count_padding: bool,
    },
}

/// A pooling window: its size, stride and (symmetric) padding.
#[derive(Clone, Copy)]
struct Window {
    size: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

impl Window {
    /// The window of a pool with these options, if this module covers them.
    fn of(
        size: [usize; 2],
        stride: [usize; 2],
        padding: &PaddingConfig2d,
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Option<Self> {
        let padding = match *padding {
            PaddingConfig2d::Valid => [0, 0],
            PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
            _ => return None,
        };
        let covered = dilation == [1, 1]
            && !ceil_mode
            && stride.iter().all(|&s| s > 0)
            && size.iter().zip(padding).all(|(&k, p)| k > 0 && p < k);
        covered.then_some(Self { size, stride, padding })
    }

    /// The output length along axis `d` (0 rows, 1 columns) for an input of `len`, if the
    /// window fits.
    fn out_len(&self, d: usize, len: usize) -> Option<usize> {
        (len + 2 * self.padding[d])
            .checked_sub(self.size[d])
            .map(|span| span / self.stride[d] + 1)
    }

    /// The input positions `[first, end)` along axis `d` of output position `o`, clipped to
    /// an input of `len`.
    fn span(&self, d: usize, o: usize, len: usize) -> [usize; 2] {
        let start = o * self.stride[d];
        let first = start.saturating_sub(self.padding[d]).min(len);
        let end = (start + self.size[d]).saturating_sub(self.padding[d]).min(len);
        [first, end.max(first)]
    }
}

fn pool_flex(x: Tensor<4>, window: Window, reduce: Reduce) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let (Some(oh), Some(ow)) = (window.out_len(0, h), window.out_len(1, w)) else {
        unreachable!("runs_fused checked that the window fits")
    };
    let Ok(x) = x.try_into_primitive::<Flex>() else {
        unreachable!("runs_fused checked that this is a plain Flex tensor")
    };
    let x = x.to_contiguous();
    let input = x.as_slice::<f32>().expect("a contiguous f32 tensor");
    let mut out = vec![0.0f32; n * c * oh * ow];
    out.par_chunks_mut(oh * ow)
        .zip(input.par_chunks(h * w))
        .for_each(|(out_plane, plane)| pool_plane(plane, [h, w], out_plane, ow, window, reduce));
    let layout = Layout::contiguous(Shape::from(vec![n, c, oh, ow]));
    Tensor::from_primitive::<Flex>(FlexTensor::new(Bytes::from_elems(out), layout, DType::F32))
}

/// One channel plane: `out[oy, ox] = reduce(plane[window at (oy, ox)])`.
fn pool_plane(plane: &[f32], [h, w]: [usize; 2], out: &mut [f32], ow: usize, window: Window, reduce: Reduce) {
    // The window's rows reduced column by column: one value per input column.
    let mut line = vec![0.0f32; w];
    for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
        let [y_first, y_end] = window.span(0, oy, h);
        let mut rows = plane[y_first * w..y_end * w].chunks_exact(w);
        match rows.next() {
            Some(first) => line.copy_from_slice(first),
            None => line.fill(match reduce {
                Reduce::Max => f32::NEG_INFINITY,
                Reduce::Mean { .. } => 0.0,
            }),
        }
        for row in rows {
            match reduce {
                Reduce::Max => line.iter_mut().zip(row).for_each(|(m, &v)| *m = max_nan(*m, v)),
                Reduce::Mean { .. } => line.iter_mut().zip(row).for_each(|(s, &v)| *s += v),
            }
        }
        for (ox, o) in out_row.iter_mut().enumerate() {
            let [x_first, x_end] = window.span(1, ox, w);
            let values = &line[x_first..x_end];
            *o = match reduce {
                Reduce::Max => values.iter().fold(f32::NEG_INFINITY, |m, &v| max_nan(m, v)),
                Reduce::Mean { count_padding } => {
                    let count = if count_padding {
                        window.size[0] * window.size[1]
                    } else {
                        (y_end - y_first) * (x_end - x_first)
                    };
                    values.iter().sum::<f32>() / count as f32
                }
            };
        }
    }
}

/// The larger of two values, NaN if either is (as PyTorch's max pool).
fn max_nan(m: f32, v: f32) -> f32 {
    if v > m || v.is_nan() { v } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hashed::hashed_tensor as random;
    use burn::nn::pool::{AvgPool2dConfig, MaxPool2dConfig};
    use inception_test_support::max_abs_diff;

    fn values(t: Tensor<4>) -> (Vec<usize>, Vec<f32>) {
        let dims = t.dims().to_vec();
        (dims, t.into_data().try_to_vec::<f32>().expect("f32 data"))
    }

    /// The networks' pools and their neighbours (odd sizes, padding on one axis, a window
    /// wider than a padded border), on two planes of two images, against burn's own pools.
    #[test]
    fn fused_pools_equal_burns() {
        let device = Device::flex();
        // ([kh, kw], [sy, sx], [py, px], [h, w])
        let cases = [
            ([3, 3], [2, 2], [0, 0], [9, 7]),
            ([3, 3], [2, 2], [0, 0], [3, 3]),
            ([3, 3], [1, 1], [1, 1], [5, 6]),
            ([3, 3], [1, 1], [1, 1], [1, 1]),
            ([2, 3], [1, 2], [0, 1], [4, 7]),
            ([5, 5], [1, 1], [2, 2], [6, 5]),
        ];
        for (i, ([kh, kw], stride, [py, px], [h, w])) in cases.into_iter().enumerate() {
            let x = random([2, 3, h, w], i as u64, &device);
            let padding = PaddingConfig2d::Explicit(py, px, py, px);
            let max = MaxPool2dConfig::new([kh, kw])
                .with_strides(stride)
                .with_padding(padding.clone())
                .init();
            let window = Window::of([kh, kw], stride, &padding, [1, 1], false).expect("a covered window");
            assert!(runs_fused(&x, window), "case {i} takes the fused path");
            assert_eq!(
                values(max_pool2d(&max, x.clone())),
                values(max.forward(x.clone())),
                "max pool, case {i}"
            );
            for count_padding in [false, true] {
                let avg = AvgPool2dConfig::new([kh, kw])
                    .with_strides(stride)
                    .with_padding(padding.clone())
                    .with_count_include_pad(count_padding)
                    .init();
                let (dims, fused) = values(avg_pool2d(&avg, x.clone()));
                let (expected_dims, expected) = values(avg.forward(x.clone()));
                assert_eq!(dims, expected_dims, "average pool, case {i}");
                let diff = max_abs_diff(&fused, &expected);
                assert!(
                    diff < 1e-6,
                    "average pool, case {i}, count_padding {count_padding}: {diff}"
                );
            }
        }
    }

    #[test]
    fn a_nan_in_the_window_is_the_maximum() {
        let device = Device::flex();
        let mut data = vec![1.0f32; 9];
        data[4] = f32::NAN;
        let x = Tensor::from_data(TensorData::new(data, [1, 1, 3, 3]), &device);
        let pool = MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init();
        let (_, out) = values(max_pool2d(&pool, x));
        assert!(out[0].is_nan());
    }
}
