//! Helpers shared by the integration tests: the timm fixtures and the devices.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::prelude::*;
use inception::Arch;

/// The directory made by `tests/fixtures.sh` (set by `tests/run.sh`). A missing fixture is
/// a failure, never a skip: the tests exist to compare against timm.
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

pub fn read_f32(path: impl Into<PathBuf>) -> Vec<f32> {
    let path = path.into();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
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

pub fn device(name: &str) -> Device {
    match name {
        "wgpu" => wgpu_device(),
        "flex" => Device::flex(),
        #[allow(deprecated)]
        "ndarray" => Device::ndarray(),
        other => panic!("unknown backend {other}"),
    }
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length differs");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

pub fn top5(logits: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    idx.truncate(5);
    idx
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// `(height, width, channels)` of a named row of a network's layer table.
pub fn shape_of(s: &inception::Summary, name: &str) -> (usize, usize, usize) {
    let row = s
        .layers
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no layer {name}"));
    (row.output.height, row.output.width, row.output.channels)
}
