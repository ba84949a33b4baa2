//! Helpers that need burn and the model crate: the timm fixtures, the test devices, tensors
//! read back, and every trainable value of a saved network.

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use inception::Arch;
use inception::weights::load_weights_file;

/// The folder that `tests/fixtures.sh` made for `arch` (`INCEPTION_FIXTURES`, set by
/// `tests/run.sh`). A missing fixture is a failure, never a skip: the tests exist to
/// compare against timm.
pub fn fixture_dir(arch: Arch) -> PathBuf {
    let root = std::env::var("INCEPTION_FIXTURES").unwrap_or_else(|_| {
        panic!("INCEPTION_FIXTURES is not set: run the suite with tests/run.sh (it makes the timm fixtures)")
    });
    let dir = PathBuf::from(root).join(format!("{}_s0", arch.timm_name().expect("a timm architecture")));
    assert!(
        dir.join("fixture.json").is_file(),
        "no fixture at {}: run tests/fixtures.sh",
        dir.display()
    );
    dir
}

/// wgpu can be initialised once per process; every test shares this device.
pub fn wgpu_device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .init()
                .expect("a wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)")
        })
        .clone()
}

/// A backend by its command-line name.
pub fn device(name: &str) -> Device {
    match name {
        "wgpu" => wgpu_device(),
        "flex" => Device::flex(),
        #[allow(deprecated)]
        "ndarray" => Device::ndarray(),
        other => panic!("unknown backend {other}"),
    }
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Every float tensor of a network (BatchNorm's running statistics included), by module path
/// (`stem.conv2d_1a.bn.running_mean`).
pub fn named_floats(network: &inception::Network) -> Vec<(String, Vec<f32>)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().expect("f32 tensor");
            self.out.push((self.path.join("."), values));
        }
    }
    let mut c = Collect {
        path: Vec::new(),
        out: Vec::new(),
    };
    network.visit(&mut c);
    c.out
}

/// Whether a [`named_floats`] name is a BatchNorm running statistic (not trained).
pub fn is_running_statistic(name: &str) -> bool {
    name.ends_with("running_mean") || name.ends_with("running_var")
}

/// Every float parameter of the network saved at `path`, in module order (to compare runs
/// bit for bit).
pub fn weights_of(path: &std::path::Path) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .extend(param.val().into_data().try_to_vec::<f32>().expect("f32 tensor"));
        }
    }
    let loaded = load_weights_file(path, None, &Device::flex()).expect("the weights load");
    let mut c = Collect(Vec::new());
    loaded.network.visit(&mut c);
    c.0
}
