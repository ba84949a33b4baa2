//! Any bytes as `weights/manifest.json`: parsed and validated, or refused; a manifest that
//! passes names a plain file in its own folder and survives a round trip.
#![no_main]

use inception::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(manifest) = Manifest::parse(bytes) {
        assert!(!manifest.file.contains(['/', '\\']) && !manifest.file.starts_with('.'));
        let again = serde_json::to_vec(&manifest).expect("a parsed manifest serialises");
        assert_eq!(Manifest::parse(&again).as_ref(), Ok(&manifest));
    }
});
