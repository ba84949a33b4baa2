//! Helpers shared by the model crate's integration tests: the workspace's test-support
//! crate, and the layer-table lookup that only these tests need.

#![allow(dead_code, unused_imports)]

pub use inception_test_support::network::{device, fixture_dir, to_vec, wgpu_device};
pub use inception_test_support::{max_abs_diff, read_f32, top5};

/// `(height, width, channels)` of a named row of a network's layer table.
pub fn shape_of(s: &inception::Summary, name: &str) -> (usize, usize, usize) {
    let row = s
        .layers
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no layer {name}"));
    (row.output.height, row.output.width, row.output.channels)
}
