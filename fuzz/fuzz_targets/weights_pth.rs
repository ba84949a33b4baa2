//! Any bytes as a PyTorch `.pth` file, read from a path as burn's reader needs: loaded or
//! refused with an error, never a panic, and never running pickled code.
#![no_main]

use burn::prelude::Device;
use inception::weights::load_weights_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = std::env::temp_dir().join(format!("inception-fuzz-{}.pth", std::process::id()));
    if std::fs::write(&path, bytes).is_ok() {
        let _ = load_weights_file(&path, None, &Device::flex());
    }
});
