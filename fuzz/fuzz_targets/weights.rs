//! Any bytes as a weights file held in memory, as the page receives one (seeded with
//! safetensors and burnpack files by tools/fuzz.sh): loaded onto the CPU or refused with an
//! error, never a panic or an unbounded allocation.
#![no_main]

use burn::prelude::Device;
use inception::load_weights;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = load_weights(bytes.to_vec(), None, "fuzz", &Device::flex());
});
