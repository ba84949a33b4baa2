//! Deterministic weights and inputs computed from an integer hash, with no random number
//! generator involved: every backend and platform (native, the browser) builds exactly the
//! same network, so their logits can be compared without shipping a weights file.
//!
//! The values are scaled like a trained network's (convolutions ~ U(+-sqrt(3 / fan_in)),
//! BatchNorm gamma ~ 1, running variance ~ 1) so that activations stay finite through
//! the whole depth.

use burn::module::{ModuleMapper, Param};
use burn::prelude::*;

use super::Network;
use crate::hash::splitmix64;

fn unit(seed: u64, index: u64) -> f32 {
    let bits = splitmix64(seed ^ splitmix64(index)) >> 40; // 24 random bits
    (bits as f32 / (1u64 << 23) as f32) - 1.0
}

struct Hashed {
    seed: u64,
    path: Vec<String>,
    tensors: u64,
}

impl ModuleMapper for Hashed {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shape = param.lazy_shape();
        let dims = shape.clone().dims::<D>();
        let (center, spread) = match self.path.last().map(String::as_str) {
            Some("gamma") => (1.0, 0.3),
            Some("running_var") => (1.0, 0.4),
            Some("beta" | "running_mean") => (0.0, 0.2),
            Some("bias") => (0.0, 0.05),
            _ => {
                // Conv [out, in, kh, kw] or Linear [in, out].
                let fan_in = if D == 4 { dims[1] * dims[2] * dims[3] } else { dims[0] };
                (0.0, (3.0 / fan_in.max(1) as f32).sqrt())
            }
        };
        let tensor_seed = splitmix64(self.seed.wrapping_add(self.tensors));
        self.tensors += 1;
        let values: Vec<f32> = (0..shape.num_elements() as u64)
            .map(|i| center + spread * unit(tensor_seed, i))
            .collect();
        param.map(|t| Tensor::from_data(TensorData::new(values, shape), &t.device()))
    }
}

/// Replaces every parameter and BatchNorm statistic with hash-derived values.
pub fn hashed_weights(network: Network, seed: u64) -> Network {
    let mut mapper = Hashed {
        seed,
        path: Vec::new(),
        tensors: 0,
    };
    network.map(&mut mapper)
}

/// A `[batch, 3, size, size]` input in [-1, 1), as `(pixel / 255 - 0.5) / 0.5` would give.
pub fn hashed_input(batch: usize, size: usize, seed: u64) -> Vec<f32> {
    (0..(batch * 3 * size * size) as u64).map(|i| unit(seed, i)).collect()
}

/// A tensor of `shape` in [-1, 1), for the kernels' tests.
#[cfg(test)]
pub(crate) fn hashed_tensor(shape: [usize; 4], seed: u64, device: &Device) -> Tensor<4> {
    let len: usize = shape.iter().product();
    let values: Vec<f32> = (0..len as u64).map(|i| unit(seed, i)).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_in_range_and_spread() {
        let v: Vec<f32> = (0..10_000).map(|i| unit(3, i)).collect();
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.05, "{mean}");
        assert_ne!(unit(3, 0), unit(4, 0));
    }
}
