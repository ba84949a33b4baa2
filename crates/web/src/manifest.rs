//! `weights/manifest.json` as the worker reads it: parsed and validated by the model crate,
//! so that a broken or hostile manifest is a message before anything is downloaded.

use inception::Manifest;
use wasm_bindgen::prelude::*;

/// The manifest's bytes as a plain object (`file`, `size`, `sha256`, `description`, ...), or
/// an error that names the field at fault.
#[wasm_bindgen]
pub fn parse_manifest(bytes: &[u8]) -> Result<JsValue, JsError> {
    let manifest = Manifest::parse(bytes).map_err(|e| JsError::new(&format!("weights/manifest.json: {e}")))?;
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(&manifest, &serializer).map_err(|e| JsError::new(&e.to_string()))
}
