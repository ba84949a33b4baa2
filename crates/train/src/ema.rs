//! Exponential moving average of the weights (and BatchNorm statistics), the network the
//! paper evaluates. TensorFlow's `ExponentialMovingAverage` with `num_updates`: the decay
//! is `min(decay, (1 + n) / (10 + n))` after `n` updates, so that short runs average over
//! their own steps instead of staying at the initial weights.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use inception::Network;

pub struct Ema {
    pub network: Network,
    pub updates: u64,
    pub decay: f64,
}

impl Ema {
    /// Starts from a validation snapshot of the trained network.
    pub fn new(network: Network, decay: f64, updates: u64) -> Self {
        Self {
            network,
            updates,
            decay,
        }
    }

    pub fn current_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// `ema = d ema + (1 - d) weights`, tensor by tensor (both networks have the same
    /// structure, so the visiting orders match).
    pub fn update(&mut self, weights: Network) {
        struct Collect(Vec<Tensor<1>>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let t = param.val();
                let n = t.shape().num_elements();
                self.0.push(t.reshape([n]));
            }
        }
        struct Blend {
            sources: std::vec::IntoIter<Tensor<1>>,
            decay: f32,
        }
        impl ModuleMapper for Blend {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let Some(source) = self.sources.next() else {
                    return param;
                };
                let decay = self.decay;
                param.map(|ema| {
                    let dims = ema.dims();
                    // With several devices, a BatchNorm statistic may sit on any of them
                    // (burn's running state moves with the last replica that read it).
                    let source = source.reshape(dims).to_device(&ema.device());
                    ema.mul_scalar(decay) + source.mul_scalar(1.0 - decay)
                })
            }
        }
        let mut collect = Collect(Vec::new());
        weights.visit(&mut collect);
        let decay = self.current_decay() as f32;
        let mut blend = Blend {
            sources: collect.0.into_iter(),
            decay,
        };
        // `weights` is spent (its tensors are in `blend`): it holds the place while the
        // average is rebuilt.
        let average = std::mem::replace(&mut self.network, weights);
        self.network = average.map(&mut blend);
        self.updates += 1;
    }
}
