//! Any bytes as the JSON metadata of a `.bpk` file: parsed and validated, or refused; what
//! passes validation builds a network configuration and a resize without a panic.
#![no_main]

use inception::WeightsMeta;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(meta) = serde_json::from_slice::<WeightsMeta>(bytes)
        && meta.validate(Some(meta.num_classes)).is_ok()
    {
        let _ = meta.network_config();
        let _ = meta.preprocess.resize_size();
        assert_eq!(meta.labels().len(), meta.num_classes);
    }
});
