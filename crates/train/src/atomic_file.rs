//! Files that are either wholly written or not there: a crash mid-write leaves the previous
//! version (a checkpoint, the metrics, the curves) intact.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Writes a file through a temporary name, flushed before the rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// Persists a rename (or a file's creation) in `dir`; not supported everywhere, and harmless
/// to skip there.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
