//! Any bytes as an image file: decoded or refused and, when decoded, turned into the 299x299
//! input. A panic, an abort or an allocation past libFuzzer's `-rss_limit_mb` is a finding.
#![no_main]

use inception::{Arch, Preprocess, decode_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(image) = decode_image(bytes) {
        let input = Preprocess::timm_eval(Arch::InceptionResnetV2).apply(&image);
        assert_eq!(input.len(), 3 * 299 * 299);
        assert!(input.iter().all(|v| v.is_finite()));
    }
});
