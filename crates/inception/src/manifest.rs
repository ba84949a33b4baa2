//! The weights manifest (`weights/manifest.json`): which weights file a site or a folder
//! ships, what network it is and how to check it (size and sha256) before it is loaded.
//! The CLI writes it (`inception import --manifest`); the web page reads it through this
//! module, so that both sides agree on one format and a hostile or broken manifest is
//! refused with a message before anything is downloaded.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::preprocess::Preprocess;
use crate::storage::StorageDtype;
use crate::weights::WeightsMeta;

/// The largest manifest read (it is a few hundred bytes).
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// The largest weights file a manifest may announce: Inception-ResNet-v2 at f32 is 224 MB.
pub const MAX_WEIGHTS_BYTES: u64 = 2 << 30;
/// The most classes a manifest may announce (ImageNet-22k has 21,843).
pub const MAX_CLASSES: usize = 100_000;
const MAX_FILE_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 4096;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The weights file's name, in the manifest's own folder.
    pub file: String,
    #[serde(default)]
    pub description: String,
    pub arch: Arch,
    pub num_classes: usize,
    pub preprocess: Preprocess,
    /// How the weights file stores its tensors.
    pub dtype: StorageDtype,
    /// Size of the file in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ManifestError {
    #[error("the manifest is {0} bytes, more than {MAX_MANIFEST_BYTES}")]
    TooLarge(usize),
    #[error("the manifest is not valid: {0}")]
    Syntax(String),
    #[error("the manifest's {field} is not valid: {reason}")]
    Field { field: &'static str, reason: String },
}

impl Manifest {
    /// Describes `weights` (the file's bytes, named `file`), whose metadata is `meta`.
    pub fn describe(file: &str, weights: &[u8], meta: &WeightsMeta, description: Option<String>) -> Self {
        Self {
            file: file.to_string(),
            description: description.unwrap_or_else(|| format!("{file} ({})", meta.source)),
            arch: meta.arch,
            num_classes: meta.num_classes,
            preprocess: meta.preprocess.clone(),
            dtype: meta.dtype,
            size: weights.len() as u64,
            sha256: sha256_hex(weights),
        }
    }

    /// Reads and validates a manifest.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn validate(&self) -> Result<(), ManifestError> {
        let bad = |field, reason: String| Err(ManifestError::Field { field, reason });
        if let Err(reason) = check_file_name(&self.file) {
            return bad("file", reason);
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return bad("description", format!("longer than {MAX_DESCRIPTION} characters"));
        }
        if !(1..=MAX_CLASSES).contains(&self.num_classes) {
            return bad(
                "num_classes",
                format!("{} is outside 1..={MAX_CLASSES}", self.num_classes),
            );
        }
        if let Err(reason) = self.preprocess.validate() {
            return bad("preprocess", reason);
        }
        if !(1..=MAX_WEIGHTS_BYTES).contains(&self.size) {
            return bad("size", format!("{} is outside 1..={MAX_WEIGHTS_BYTES}", self.size));
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return bad("sha256", "not 64 lower-case hex digits".into());
        }
        Ok(())
    }

    /// Checks downloaded or cached bytes against the manifest's size and hash.
    pub fn check(&self, weights: &[u8]) -> Result<(), String> {
        if weights.len() as u64 != self.size {
            return Err(format!(
                "{} is {} bytes, the manifest says {}",
                self.file,
                weights.len(),
                self.size
            ));
        }
        let hash = sha256_hex(weights);
        if hash != self.sha256 {
            return Err(format!(
                "{} is damaged (sha256 {}…, expected {}…)",
                self.file,
                &hash[..12],
                &self.sha256[..12]
            ));
        }
        Ok(())
    }
}

/// A plain file name in the manifest's folder: no path, no parent, nothing a URL or a file
/// system would read as more than a name.
fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_FILE_NAME {
        return Err(format!("must be 1..={MAX_FILE_NAME} bytes"));
    }
    if name.starts_with('.') {
        return Err(format!("{name:?} starts with a dot"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{name:?} has {c:?}: only letters, digits, '-', '_' and '.' are allowed"
        ));
    }
    Ok(())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../weights/manifest.json")).unwrap()
    }

    #[test]
    fn the_shipped_manifest_is_valid_and_round_trips() {
        let manifest = Manifest::parse(&shipped()).unwrap();
        assert_eq!(manifest.arch, Arch::InceptionResnetV2);
        let again = Manifest::parse(serde_json::to_string(&manifest).unwrap().as_bytes()).unwrap();
        assert_eq!(again, manifest);
    }

    #[test]
    fn the_shipped_manifest_matches_the_shipped_weights() {
        let manifest = Manifest::parse(&shipped()).unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../weights/");
        let weights = std::fs::read(format!("{dir}{}", manifest.file)).unwrap();
        manifest.check(&weights).unwrap();
        let mut damaged = weights.clone();
        damaged[1000] ^= 1;
        assert!(manifest.check(&damaged).unwrap_err().contains("damaged"));
        assert!(manifest.check(&weights[1..]).unwrap_err().contains("bytes"));
    }

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Manifest, ManifestError> {
        let mut value: serde_json::Value = serde_json::from_slice(&shipped()).unwrap();
        edit(&mut value);
        Manifest::parse(value.to_string().as_bytes())
    }

    fn field_error(result: Result<Manifest, ManifestError>) -> &'static str {
        match result {
            Err(ManifestError::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn hostile_fields_are_refused_by_name() {
        for name in [
            "../secret.bpk",
            "/etc/passwd",
            "a/b.bpk",
            "https://evil.example/w.bpk",
            ".hidden",
            "",
            "a\\b",
            "w.bpk?x=1",
        ] {
            assert_eq!(field_error(with(|v| v["file"] = name.into())), "file", "{name}");
        }
        assert_eq!(field_error(with(|v| v["file"] = "x".repeat(256).into())), "file");
        assert_eq!(field_error(with(|v| v["sha256"] = "ABC".into())), "sha256");
        assert_eq!(field_error(with(|v| v["sha256"] = "G".repeat(64).into())), "sha256");
        assert_eq!(field_error(with(|v| v["size"] = 0.into())), "size");
        assert_eq!(
            field_error(with(|v| v["size"] = (MAX_WEIGHTS_BYTES + 1).into())),
            "size"
        );
        assert_eq!(field_error(with(|v| v["num_classes"] = 0.into())), "num_classes");
        assert_eq!(
            field_error(with(|v| v["preprocess"]["crop_pct"] = 0.into())),
            "preprocess"
        );
        assert_eq!(
            field_error(with(|v| v["preprocess"]["input_size"] = 100_000.into())),
            "preprocess"
        );
        assert_eq!(
            field_error(with(|v| v["description"] = "x".repeat(5000).into())),
            "description"
        );
    }

    #[test]
    fn broken_documents_are_syntax_errors() {
        for bytes in [&b""[..], b"<!doctype html>", b"{", b"[]", b"null", b"{\"file\": 1}"] {
            assert!(
                matches!(Manifest::parse(bytes), Err(ManifestError::Syntax(_))),
                "{bytes:?}"
            );
        }
        // Fields a newer writer adds are ignored, not refused.
        assert!(with(|v| v["extra"] = 1.into()).is_ok());
        assert!(matches!(
            with(|v| v["arch"] = "resnet50".into()),
            Err(ManifestError::Syntax(_))
        ));
        assert!(matches!(
            with(|v| v["dtype"] = "i64".into()),
            Err(ManifestError::Syntax(_))
        ));
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(Manifest::parse(&huge), Err(ManifestError::TooLarge(_))));
    }
}
