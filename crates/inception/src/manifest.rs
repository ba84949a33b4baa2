//! The weights manifest (`weights/manifest.json`): which weights file a site or a folder
//! ships, what network it is and how to check it (size and sha256) before it is loaded, and
//! the same weights stored at other dtypes (`variants`) for the page to offer.
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
/// The most other copies a manifest may list (there are three storage dtypes).
pub const MAX_VARIANTS: usize = 8;

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
    /// The same weights stored at other dtypes, beside `file`: a smaller download, or one
    /// closer to f32. `file` stays the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

/// One stored copy of a manifest's weights: a file in the manifest's folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub file: String,
    pub dtype: StorageDtype,
    pub size: u64,
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
        let Variant {
            file,
            dtype,
            size,
            sha256,
        } = Variant::describe(file, weights, meta);
        Self {
            description: description.unwrap_or_else(|| format!("{file} ({})", meta.source)),
            file,
            arch: meta.arch,
            num_classes: meta.num_classes,
            preprocess: meta.preprocess.clone(),
            dtype,
            size,
            sha256,
            variants: Vec::new(),
        }
    }

    /// Every stored copy: the default first, then the variants.
    pub fn files(&self) -> Vec<Variant> {
        let default = Variant {
            file: self.file.clone(),
            dtype: self.dtype,
            size: self.size,
            sha256: self.sha256.clone(),
        };
        std::iter::once(default).chain(self.variants.iter().cloned()).collect()
    }

    /// Lists `variant` as another copy of these weights, in place of one at the same dtype;
    /// the default stays. Refused, changing nothing, if it has the default's dtype or file.
    pub fn add_variant(&mut self, variant: Variant) -> Result<(), ManifestError> {
        let mut next = self.clone();
        next.variants.retain(|v| v.dtype != variant.dtype);
        next.variants.push(variant);
        next.validate()?;
        *self = next;
        Ok(())
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
        let files = self.files();
        if let Err((field, reason)) = check_copy(&files[0]) {
            return bad(field, reason);
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
        if self.variants.len() > MAX_VARIANTS {
            return bad("variants", format!("more than {MAX_VARIANTS}"));
        }
        for (i, copy) in files.iter().enumerate().skip(1) {
            if let Err((field, reason)) = check_copy(copy) {
                return bad("variants", format!("[{}].{field}: {reason}", i - 1));
            }
            if let Some(same) = files[..i].iter().find(|c| c.dtype == copy.dtype || c.file == copy.file) {
                return bad(
                    "variants",
                    format!("[{}] repeats the {} copy {}", i - 1, same.dtype.name(), same.file),
                );
            }
        }
        Ok(())
    }

    /// Checks downloaded or cached bytes against the size and hash of the default file.
    pub fn check(&self, weights: &[u8]) -> Result<(), String> {
        self.files()[0].check(weights)
    }
}

impl Variant {
    /// Describes `weights` (the file's bytes, named `file`), whose metadata is `meta`.
    pub fn describe(file: &str, weights: &[u8], meta: &WeightsMeta) -> Self {
        Self {
            file: file.to_string(),
            dtype: meta.dtype,
            size: weights.len() as u64,
            sha256: sha256_hex(weights),
        }
    }

    /// Checks downloaded or cached bytes against this copy's size and hash.
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

/// A copy's file name, size and hash, or the field at fault and why.
fn check_copy(copy: &Variant) -> Result<(), (&'static str, String)> {
    check_file_name(&copy.file).map_err(|reason| ("file", reason))?;
    if !(1..=MAX_WEIGHTS_BYTES).contains(&copy.size) {
        return Err(("size", format!("{} is outside 1..={MAX_WEIGHTS_BYTES}", copy.size)));
    }
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if copy.sha256.len() != 64 || !copy.sha256.bytes().all(hex) {
        return Err(("sha256", "not 64 lower-case hex digits".into()));
    }
    Ok(())
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
        // Every stored copy, and the demo ships more than one (the page offers the choice).
        assert!(manifest.files().len() > 1);
        for copy in manifest.files() {
            let bytes = std::fs::read(format!("{dir}{}", copy.file)).unwrap();
            copy.check(&bytes).unwrap();
            let meta = crate::weights::load_weights(bytes, None, "test", &burn::prelude::Device::flex())
                .unwrap()
                .meta;
            let described = (copy.dtype, manifest.arch, manifest.num_classes, &manifest.preprocess);
            assert_eq!((meta.dtype, meta.arch, meta.num_classes, &meta.preprocess), described);
        }
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
    fn hostile_variants_are_refused() {
        let variant = |v: &mut serde_json::Value, edit: &dyn Fn(&mut serde_json::Value)| {
            let mut copy = serde_json::json!({
                "file": "other.bpk", "dtype": "f32", "size": 10, "sha256": "a".repeat(64)
            });
            edit(&mut copy);
            v["variants"] = serde_json::json!([copy]);
        };
        assert!(with(|v| variant(v, &|_| {})).is_ok());
        let cases: [&dyn Fn(&mut serde_json::Value); 5] = [
            &|c| c["file"] = "../up.bpk".into(),
            &|c| c["size"] = 0.into(),
            &|c| c["sha256"] = "x".into(),
            &|c| c["dtype"] = "int8".into(),
            &|c| c["file"] = "inception-resnet-v2-shapes-int8.bpk".into(),
        ];
        for (i, case) in cases.iter().enumerate() {
            assert_eq!(field_error(with(|v| variant(v, case))), "variants", "case {i}");
        }
        let many: Vec<_> = (0..=MAX_VARIANTS)
            .map(|i| serde_json::json!({"file": format!("w{i}.bpk"), "dtype": "f32", "size": 1, "sha256": "a".repeat(64)}))
            .collect();
        assert_eq!(field_error(with(|v| v["variants"] = many.into())), "variants");
    }

    #[test]
    fn a_variant_replaces_its_dtype_and_never_the_default() {
        let mut manifest = Manifest::parse(&shipped()).unwrap();
        manifest.variants.clear();
        let f32_copy = |file: &str| Variant {
            file: file.into(),
            dtype: StorageDtype::F32,
            size: 4,
            sha256: "b".repeat(64),
        };
        manifest.add_variant(f32_copy("a.bpk")).unwrap();
        manifest.add_variant(f32_copy("b.bpk")).unwrap();
        assert_eq!(manifest.variants, vec![f32_copy("b.bpk")]);
        let before = manifest.clone();
        let same_as_default = Variant {
            dtype: manifest.dtype,
            ..f32_copy("c.bpk")
        };
        assert!(manifest.add_variant(same_as_default).is_err());
        assert_eq!(manifest, before);
        assert_eq!(manifest.files().len(), 2);
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
