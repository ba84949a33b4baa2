//! RMSProp as TensorFlow computes it, the optimizer the paper trained with
//! (`tf.compat.v1.train.RMSPropOptimizer`; timm ships the same as `timm.optim.RMSpropTF`):
//!
//! ```text
//! g   = grad + weight_decay * p          (L2 decay, in the gradient)
//! ms  = ms + (1 - decay) * (g^2 - ms)    (ms starts at 1, not 0)
//! mom = momentum * mom + lr * g / sqrt(ms + epsilon)
//! p   = p - mom
//! ```
//!
//! Against PyTorch's formulation (burn's `RmsProp`): epsilon is inside the square root, the
//! mean square starts at 1 (so the first steps are not `g / |g|`-sized), and the learning rate
//! is applied before the momentum, so a decayed learning rate does not rescale the velocity
//! built up at the old rate.

use burn::optim::decay::WeightDecay;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

#[derive(Clone)]
pub struct RmsPropTf {
    pub decay: f32,
    pub momentum: f32,
    pub epsilon: f32,
    /// burn's L2 decay, as PyTorch's formulation uses it.
    pub weight_decay: Option<WeightDecay>,
}

/// One parameter's state: the mean square of its gradients and its velocity.
#[derive(Clone)]
pub struct RmsPropTfState<const D: usize> {
    pub mean_square: Tensor<D>,
    pub momentum: Tensor<D>,
}

const MEAN_SQUARE: &str = "mean_square";
const MOMENTUM: &str = "momentum";

impl<const D: usize> RecordState for RmsPropTfState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, MEAN_SQUARE, self.mean_square.to_data());
        out.push_tensor(prefix, MOMENTUM, self.momentum.to_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let mean_square = src.take_tensor(prefix, MEAN_SQUARE)?;
        let momentum = src.take_tensor(prefix, MOMENTUM)?;
        if mean_square.shape() != momentum.shape() || mean_square.shape().len() != D {
            return None;
        }
        Some(Self {
            mean_square: Tensor::from_data(mean_square, device),
            momentum: Tensor::from_data(momentum, device),
        })
    }
}

impl Optimizer for RmsPropTf {
    type State<const D: usize> = RmsPropTfState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let grad = match &self.weight_decay {
            Some(decay) => decay.transform(grad, tensor.clone()),
            None => grad,
        };
        let (mean_square, momentum) = match state {
            Some(s) => (s.mean_square, s.momentum),
            None => (tensor.ones_like(), tensor.zeros_like()),
        };
        // TensorFlow's order of operations (and timm's): ms += (1 - decay) (g^2 - ms).
        let mean_square = mean_square.clone() + (grad.clone().square() - mean_square).mul_scalar(1.0 - self.decay);
        let step = grad
            .div(mean_square.clone().add_scalar(self.epsilon).sqrt())
            .mul_scalar(lr);
        let momentum = momentum.mul_scalar(self.momentum) + step;
        (
            tensor - momentum.clone(),
            Some(RmsPropTfState { mean_square, momentum }),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RmsPropTfState {
            mean_square: state.mean_square.to_device(device),
            momentum: state.momentum.to_device(device),
        }
    }
}
