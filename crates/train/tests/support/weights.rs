//! Shared by the training tests here and the CLI's (crates/cli/tests/train.rs includes this
//! file by path): every trainable value of a weights file, to compare runs bit for bit.

use std::path::Path;

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use inception::weights::load_weights_file;

/// Every float parameter of the network saved at `path`, in module order.
pub fn weights_of(path: &Path) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let loaded = load_weights_file(path, None, &Device::flex()).unwrap();
    let mut c = Collect(Vec::new());
    loaded.network.visit(&mut c);
    c.0
}
