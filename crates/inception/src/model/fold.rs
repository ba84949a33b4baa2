//! The inference form of a network: every BatchNorm folded into the convolution before it.
//!
//! In inference a BatchNorm is an affine map per channel, `y = s * x + (beta - s * mean)`
//! with `s = gamma / sqrt(var + eps)`, so it can move into the convolution's weights
//! (`w * s`, per output channel) and a bias. burn's BatchNorm runs as four element-wise passes
//! over the convolution's output (subtract, divide, multiply, add); folded, the bias is added
//! inside the convolution's own output pass, which leaves the ReLU as the only other pass.
//!
//! The fold rewrites values, not structure: each [`BasicConv2d`](super::basic_conv::BasicConv2d) keeps its BatchNorm, turned
//! into the identity plus the shift (gamma 1, mean 0, variance `1 - eps`), and its `folded` flag
//! selects the one-convolution path. So a folded network is still an ordinary module of the
//! same type: saved, it loads as an unfolded one that computes the same function. Training
//! keeps the unfolded form (the fold is applied by inference callers only).

use std::collections::HashMap;

use burn::module::{Flag, Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use super::basic_conv::BN_EPS;

/// `Struct:NAME` is how burn's derived modules name themselves to a visitor or mapper.
const BASIC_CONV: &str = "Struct:BasicConv2d";

/// Folds every [`BasicConv2d`](super::basic_conv::BasicConv2d)'s BatchNorm into its convolution (running statistics, for
/// inference). Folding twice is harmless: a folded layer's BatchNorm is already the identity
/// plus its shift.
pub fn fold_batch_norm<M: Module>(module: M) -> M {
    let mut statistics = Statistics::default();
    module.visit(&mut statistics);
    let mut folder = Folder {
        path: Path::default(),
        folds: statistics.into_folds(),
    };
    module.map(&mut folder)
}

/// How many `BasicConv2d` layers a module has, and how many of them are folded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FoldedLayers {
    pub folded: usize,
    pub layers: usize,
}

pub fn folded_layers<M: Module>(module: &M) -> FoldedLayers {
    #[derive(Default)]
    struct Count {
        path: Path,
        count: FoldedLayers,
    }
    impl ModuleVisitor for Count {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.enter(name, container_type);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.exit();
        }
        fn visit_flag(&mut self, flag: &Param<Flag>) {
            if let Some((_, "folded")) = self.path.basic_conv_flag() {
                self.count.layers += 1;
                self.count.folded += usize::from(flag.is_enabled());
            }
        }
    }
    let mut count = Count::default();
    module.visit(&mut count);
    count.count
}

/// Where a visitor or mapper is in the module tree: (field name, type of the struct holding
/// it) from the root.
#[derive(Default)]
struct Path(Vec<(String, String)>);

impl Path {
    fn enter(&mut self, name: &str, container: &str) {
        self.0.push((name.to_string(), container.to_string()));
    }

    fn exit(&mut self) {
        self.0.pop();
    }

    /// For a tensor inside a `BasicConv2d`: the layer's path, its sub-module (`conv`, `bn`)
    /// and the tensor's field name.
    fn in_basic_conv(&self) -> Option<(String, &str, &str)> {
        let n = self.0.len();
        let (sub, container) = self.0.get(n.checked_sub(2)?)?;
        if container != BASIC_CONV {
            return None;
        }
        Some((self.prefix(n - 2), sub, &self.0[n - 1].0))
    }

    /// For a flag that is a `BasicConv2d`'s own field: the layer's path and the field name.
    fn basic_conv_flag(&self) -> Option<(String, &str)> {
        let n = self.0.len();
        let (field, container) = self.0.last()?;
        (container == BASIC_CONV).then(|| (self.prefix(n - 1), field.as_str()))
    }

    fn prefix(&self, len: usize) -> String {
        let names: Vec<&str> = self.0[..len].iter().map(|(name, _)| name.as_str()).collect();
        names.join(".")
    }
}

/// One layer's BatchNorm parameters, as the visitor finds them.
#[derive(Default)]
struct BatchNormParams {
    gamma: Option<Tensor<1>>,
    beta: Option<Tensor<1>>,
    mean: Option<Tensor<1>>,
    var: Option<Tensor<1>>,
}

/// What a layer's tensors become: the convolution's per-output-channel scale and the bias.
struct Fold {
    scale: Tensor<1>,
    shift: Tensor<1>,
}

#[derive(Default)]
struct Statistics {
    path: Path,
    layers: HashMap<String, BatchNormParams>,
}

impl Statistics {
    fn into_folds(self) -> HashMap<String, Fold> {
        self.layers
            .into_iter()
            .filter_map(|(key, p)| {
                let (gamma, beta, mean, var) = (p.gamma?, p.beta?, p.mean?, p.var?);
                let scale = gamma / var.add_scalar(BN_EPS).sqrt();
                let shift = beta - mean * scale.clone();
                Some((key, Fold { scale, shift }))
            })
            .collect()
    }
}

fn flatten<const D: usize>(tensor: Tensor<D>) -> Tensor<1> {
    let n = tensor.shape().num_elements();
    tensor.reshape([n])
}

impl ModuleVisitor for Statistics {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some((key, "bn", field)) = self.path.in_basic_conv() else {
            return;
        };
        let layer = self.layers.entry(key).or_default();
        let slot = match field {
            "gamma" => &mut layer.gamma,
            "beta" => &mut layer.beta,
            "running_mean" => &mut layer.mean,
            "running_var" => &mut layer.var,
            _ => return,
        };
        *slot = Some(flatten(param.val()));
    }
}

struct Folder {
    path: Path,
    folds: HashMap<String, Fold>,
}

/// `values` (one per channel) as a tensor of rank `D` with the channels on the first axis.
fn per_channel<const D: usize>(values: Tensor<1>) -> Tensor<D> {
    let mut dims = [1usize; D];
    dims[0] = values.dims()[0];
    values.reshape(dims)
}

impl ModuleMapper for Folder {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((key, sub, field)) = self.path.in_basic_conv() else {
            return param;
        };
        let Some(fold) = self.folds.get(&key) else {
            return param;
        };
        match (sub, field) {
            ("conv", "weight") => param.map(|w| w * per_channel(fold.scale.clone())),
            ("bn", "gamma") => param.map(|g| g.ones_like()),
            ("bn", "beta") => param.map(|_| per_channel(fold.shift.clone())),
            ("bn", "running_mean") => param.map(|m| m.zeros_like()),
            // sqrt(var + eps) is then 1.
            ("bn", "running_var") => param.map(|v| v.full_like(1.0 - BN_EPS)),
            _ => param,
        }
    }

    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        match self.path.basic_conv_flag() {
            Some((key, "folded")) if self.folds.contains_key(&key) => flag.with_value(true),
            _ => flag,
        }
    }
}
