//! Weights by name from the Hugging Face Hub: `hub:timm/inception_resnet_v2.tf_in1k` wherever
//! a weights file is expected, and `inception fetch`.
//!
//! The files go into the Hub's own cache, laid out as Python's `huggingface_hub` lays it out,
//! so the two share one copy: `$HF_HUB_CACHE` (default `$HF_HOME/hub`, `HF_HOME` defaulting to
//! `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`), then
//! `models--<org>--<name>/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
//! refs/<revision>}`. A file found there is used without a request.
//!
//! The download follows the Hub's protocol as `huggingface_hub` does: a HEAD of
//! `<endpoint>/<repo>/resolve/<revision>/<file>` gives the commit (`X-Repo-Commit`), the
//! sha256 of the LFS file (`X-Linked-Etag`), its size (`X-Linked-Size`) and, as a 302, where the
//! bytes are (a CDN on another origin); relative redirects (a renamed repository) are followed
//! on the Hub. The body goes to `blobs/<etag>.incomplete` (the name Python uses, so either
//! resumes the other's download with an HTTP Range request), hashed as it arrives, and is
//! renamed to `blobs/<etag>` only when its size and sha256 match: a killed or corrupted
//! download never leaves a file that looks complete.
//!
//! Why not the `hf-hub` crate's download (0.5): it renames the file into the cache before any
//! hash is checked, knows neither `HF_HUB_OFFLINE` nor `HF_TOKEN`, puts no bound on what a
//! server sends, resumes from a name Python does not use, and panics on some server answers
//! (a redirect without `Location`). Its HTTP client, ureq, is used here directly.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use inception::manifest::MAX_WEIGHTS_BYTES;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

/// What `hub:` names and `inception fetch` download when no file is named.
pub const DEFAULT_FILE: &str = "model.safetensors";
const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
const PREFIX: &str = "hub:";

/// One file of one revision of a model repository on the Hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubFile {
    pub repo: String,
    pub revision: String,
    pub file: String,
}

impl HubFile {
    /// `org/name`, `org/name@revision`; `hub:` in front is allowed.
    pub fn parse(name: &str, file: &str) -> Result<Self> {
        let name = name.strip_prefix(PREFIX).unwrap_or(name);
        let (repo, revision) = name.split_once('@').unwrap_or((name, "main"));
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 96
                && !p.starts_with(['.', '-'])
                && !p.contains("..")
                && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        let parts: Vec<&str> = repo.split('/').collect();
        if !matches!(parts.len(), 1 | 2) || !parts.iter().all(|p| part_ok(p)) {
            bail!("`{repo}` is not a Hub repository name (like timm/inception_resnet_v2.tf_in1k)");
        }
        // A branch, a tag or a commit; `refs/pr/1` style names keep their slashes.
        let revision_ok = !revision.is_empty()
            && revision.len() <= 255
            && !revision.contains("..")
            && !revision.starts_with('/')
            && revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        if !revision_ok {
            bail!("`{revision}` is not a revision (a branch, tag or commit) of a Hub repository");
        }
        if !part_ok(file) {
            bail!("`{file}` is not a file name in a Hub repository");
        }
        Ok(Self {
            repo: repo.to_string(),
            revision: revision.to_string(),
            file: file.to_string(),
        })
    }

    /// `hub:` names, for messages.
    pub fn display_name(&self) -> String {
        let revision = if self.revision == "main" {
            String::new()
        } else {
            format!("@{}", self.revision)
        };
        let file = if self.file == DEFAULT_FILE {
            String::new()
        } else {
            format!(" ({})", self.file)
        };
        format!("hub:{}{revision}{file}", self.repo)
    }
}

/// The Hub as the environment sets it up, like `huggingface_hub`: `HF_ENDPOINT`, `HF_HOME` /
/// `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_TOKEN` (else the token file `huggingface-cli login`
/// writes).
pub struct Hub {
    endpoint: String,
    cache: PathBuf,
    offline: bool,
    token: Option<String>,
    progress: bool,
}

impl Hub {
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let home = match var("HF_HOME") {
            Some(home) => PathBuf::from(home),
            None => match var("XDG_CACHE_HOME") {
                Some(xdg) => PathBuf::from(xdg).join("huggingface"),
                None => std::env::home_dir()
                    .context("no home folder: set HF_HOME to where the Hub cache should be")?
                    .join(".cache/huggingface"),
            },
        };
        let cache = var("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("hub"));
        let offline =
            var("HF_HUB_OFFLINE").is_some_and(|v| ["1", "on", "yes", "true"].contains(&v.to_lowercase().as_str()));
        let token = var("HF_TOKEN").or_else(|| {
            let path = var("HF_TOKEN_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join("token"));
            std::fs::read_to_string(path)
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        });
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            cache,
            offline,
            token,
            progress: true,
        })
    }

    fn repo_dir(&self, file: &HubFile) -> PathBuf {
        self.cache.join(format!("models--{}", file.repo.replace('/', "--")))
    }

    /// The file in the cache, if this revision of it is there: looked up as Python does
    /// (a commit names its snapshot; a branch or tag goes through `refs/`). No request.
    pub fn cached(&self, file: &HubFile) -> Option<PathBuf> {
        let dir = self.repo_dir(file);
        let commit = if is_hex(&file.revision, 40) {
            file.revision.clone()
        } else {
            let commit = std::fs::read_to_string(dir.join("refs").join(&file.revision)).ok()?;
            let commit = commit.trim().to_string();
            is_hex(&commit, 40).then_some(commit)?
        };
        let path = dir.join("snapshots").join(commit).join(&file.file);
        // `is_file` follows the link: a link to a missing blob is no cached file.
        path.is_file().then_some(path)
    }

    /// The file's path in the cache, downloading it first if it is not there.
    pub fn get(&self, file: &HubFile) -> Result<PathBuf> {
        if let Some(path) = self.cached(file) {
            return Ok(path);
        }
        if self.offline {
            bail!(
                "{} is not in the Hub cache ({}) and HF_HUB_OFFLINE is set: run once with the network \
                 (`inception fetch {}`), or unset HF_HUB_OFFLINE",
                file.display_name(),
                self.cache.display(),
                file.repo
            );
        }
        self.download(file)
    }

    fn agent(&self) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            // A stalled transfer ends with an error (and resumes on the next run), not a hang.
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("inception-rs/", env!("CARGO_PKG_VERSION")))
            .build();
        ureq::Agent::new_with_config(config)
    }

    fn download(&self, file: &HubFile) -> Result<PathBuf> {
        let agent = self.agent();
        let remote = self.resolve(&agent, file)?;
        let dir = self.repo_dir(file);
        let blob = dir.join("blobs").join(&remote.etag);
        let already_there = std::fs::metadata(&blob).is_ok_and(|m| m.len() == remote.size);
        if !already_there {
            std::fs::create_dir_all(blob.parent().unwrap_or(&dir))
                .with_context(|| format!("cannot create the Hub cache folder {}", dir.display()))?;
            self.download_blob(&agent, file, &remote, &blob)?;
        }
        let snapshot = dir.join("snapshots").join(&remote.commit);
        std::fs::create_dir_all(&snapshot).with_context(|| format!("cannot create {}", snapshot.display()))?;
        let pointer = snapshot.join(&file.file);
        link_blob(&remote.etag, &blob, &pointer)?;
        if file.revision != remote.commit {
            let refs = dir.join("refs").join(&file.revision);
            write_atomically(&refs, remote.commit.as_bytes())?;
        }
        Ok(pointer)
    }

    /// The HEAD request on the Hub: what the file is and where its bytes are.
    fn resolve(&self, agent: &ureq::Agent, file: &HubFile) -> Result<Remote> {
        let revision = file.revision.replace('/', "%2F");
        let mut url = format!("{}/{}/resolve/{revision}/{}", self.endpoint, file.repo, file.file);
        let origin = origin_of(&self.endpoint)?;
        for _ in 0..5 {
            let mut request = agent.head(&url).header("Accept-Encoding", "identity");
            if let Some(token) = &self.token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let response = request.call().with_context(|| {
                format!(
                    "cannot reach the Hub at {} (for {})",
                    self.endpoint,
                    file.display_name()
                )
            })?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let location = header("location");
            // A relative redirect stays on the Hub (a renamed repository): follow it.
            if (300..400).contains(&status)
                && let Some(loc) = location.as_deref().filter(|l| l.starts_with('/'))
            {
                url = format!("{origin}{loc}");
                continue;
            }
            if !(200..400).contains(&status) {
                return Err(hub_error(
                    status,
                    header("x-error-code").as_deref(),
                    file,
                    &self.endpoint,
                    self.token.is_some(),
                ));
            }
            let commit = header("x-repo-commit").unwrap_or_default();
            if !is_hex(&commit, 40) {
                bail!(
                    "the Hub's answer for {} has no commit (X-Repo-Commit)",
                    file.display_name()
                );
            }
            let etag = header("x-linked-etag")
                .or_else(|| header("etag"))
                .map(|e| e.trim_start_matches("W/").trim_matches('"').to_string())
                .unwrap_or_default();
            if !(is_hex(&etag, 64) || is_hex(&etag, 40)) {
                bail!(
                    "the Hub's answer for {} has no usable ETag: `{etag}`",
                    file.display_name()
                );
            }
            let size: u64 = header("x-linked-size")
                .or_else(|| header("content-length"))
                .and_then(|s| s.trim().parse().ok())
                .with_context(|| {
                    format!(
                        "the Hub's answer for {} has no size (X-Linked-Size)",
                        file.display_name()
                    )
                })?;
            if size == 0 || size > MAX_WEIGHTS_BYTES {
                bail!(
                    "{} is {size} bytes; weights files here are 1 byte to {MAX_WEIGHTS_BYTES}",
                    file.display_name()
                );
            }
            let (url, same_origin) = match location {
                Some(loc) if (300..400).contains(&status) => (loc, false),
                _ => (url, true),
            };
            return Ok(Remote {
                url,
                send_token: same_origin,
                commit,
                etag,
                size,
            });
        }
        bail!("the Hub redirected {} more than 5 times", file.display_name())
    }

    /// Downloads into `<blob>.incomplete` (resuming what is there), then checks and renames.
    fn download_blob(&self, agent: &ureq::Agent, file: &HubFile, remote: &Remote, blob: &Path) -> Result<()> {
        let partial = blob.with_file_name(format!("{}.incomplete", remote.etag));
        let mut out = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut start = out.metadata()?.len();
        if start > remote.size {
            out.set_len(0)?;
            start = 0;
        }
        let mut request = agent.get(&remote.url).header("Accept-Encoding", "identity");
        if start > 0 {
            request = request.header("Range", format!("bytes={start}-"));
        }
        if remote.send_token
            && let Some(token) = &self.token
        {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request
            .call()
            .with_context(|| format!("cannot download {} from {}", file.display_name(), host_of(&remote.url)))?;
        let status = response.status().as_u16();
        match status {
            206 => {
                let range = response
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !range.starts_with(&format!("bytes {start}-")) {
                    bail!(
                        "asked to resume {} at byte {start}, the server answered `{range}`",
                        file.display_name()
                    );
                }
            }
            // The server sent the whole file: start again from the first byte.
            200 => {
                out.set_len(0)?;
                start = 0;
            }
            _ => bail!(
                "downloading {} from {} failed: HTTP {status}",
                file.display_name(),
                host_of(&remote.url)
            ),
        }
        let mut hasher = Sha256::new();
        if start > 0 {
            hash_prefix(&mut out, start, &mut hasher)?;
        }
        out.seek(SeekFrom::End(0))?;
        let bar = self.progress_bar(remote.size, start, file);
        let mut body = response.into_body().into_reader();
        let mut buffer = vec![0u8; 1 << 20];
        let mut have = start;
        let transfer: Result<()> = (|| {
            loop {
                let n = body.read(&mut buffer)?;
                if n == 0 {
                    return Ok(());
                }
                have += n as u64;
                if have > remote.size {
                    bail!("the server sent more than the {} bytes the Hub announced", remote.size);
                }
                hasher.update(&buffer[..n]);
                out.write_all(&buffer[..n])?;
                bar.set_position(have);
            }
        })();
        bar.finish_and_clear();
        out.flush()?;
        if let Err(e) = transfer {
            if have > remote.size {
                drop(out);
                let _ = std::fs::remove_file(&partial);
            }
            return Err(e.context(format!(
                "downloading {} stopped at {have} of {} bytes; run the command again to resume",
                file.display_name(),
                remote.size
            )));
        }
        if have < remote.size {
            bail!(
                "the download of {} ended at {have} of {} bytes; run the command again to resume",
                file.display_name(),
                remote.size
            );
        }
        if is_hex(&remote.etag, 64) {
            let sha256 = format!("{:x}", hasher.finalize());
            if sha256 != remote.etag {
                drop(out);
                let _ = std::fs::remove_file(&partial);
                bail!(
                    "the download of {} is corrupt: its sha256 is {sha256}, the Hub says {} (X-Linked-Etag). \
                     It was deleted; run the command again to download it again",
                    file.display_name(),
                    remote.etag
                );
            }
        } else {
            eprintln!(
                "hub: {} is not an LFS file; the Hub gives no sha256 to check it against",
                file.display_name()
            );
        }
        out.sync_all()?;
        drop(out);
        std::fs::rename(&partial, blob).with_context(|| format!("cannot move the download into {}", blob.display()))?;
        eprintln!(
            "hub: downloaded {} ({} bytes{}, sha256 checked) into {}",
            file.display_name(),
            remote.size,
            if start > 0 {
                format!(", resumed at byte {start}")
            } else {
                String::new()
            },
            self.cache.display()
        );
        Ok(())
    }

    fn progress_bar(&self, total: u64, at: u64, file: &HubFile) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total)
            .with_position(at)
            .with_message(file.display_name());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }
}

struct Remote {
    url: String,
    send_token: bool,
    commit: String,
    etag: String,
    size: u64,
}

/// The Hub's errors, in words (it names them in `X-Error-Code`).
fn hub_error(status: u16, code: Option<&str>, file: &HubFile, endpoint: &str, has_token: bool) -> anyhow::Error {
    let token_hint = if has_token {
        "the token in HF_TOKEN has no access to it"
    } else {
        "a private or gated one needs a token in HF_TOKEN"
    };
    match code {
        Some("RepoNotFound") => anyhow::anyhow!("repository {} not found on {endpoint} ({token_hint})", file.repo),
        Some("RevisionNotFound") => {
            anyhow::anyhow!("revision `{}` not found in repository {}", file.revision, file.repo)
        }
        Some("EntryNotFound") => anyhow::anyhow!(
            "{} not found in repository {} at revision `{}`",
            file.file,
            file.repo,
            file.revision
        ),
        Some("GatedRepo") => anyhow::anyhow!(
            "repository {} is gated: accept its conditions on the Hub, then set HF_TOKEN",
            file.repo
        ),
        _ if status == 401 || status == 403 => {
            anyhow::anyhow!(
                "{endpoint} refused {} (HTTP {status}: {token_hint})",
                file.display_name()
            )
        }
        _ if status == 404 => anyhow::anyhow!("{} not found on {endpoint} (HTTP 404)", file.display_name()),
        _ => anyhow::anyhow!("{endpoint} answered HTTP {status} for {}", file.display_name()),
    }
}

/// `path` as given, or the cached (downloaded if needed) file of a `hub:` name.
pub fn resolve_weights(path: &Path) -> Result<PathBuf> {
    let Some(name) = path.to_str().filter(|s| s.starts_with(PREFIX)) else {
        return Ok(path.to_path_buf());
    };
    let file = HubFile::parse(name, DEFAULT_FILE)?;
    let local = Hub::from_env()?.get(&file)?;
    eprintln!("hub: {} is {}", file.display_name(), local.display());
    Ok(local)
}

fn hash_prefix(file: &mut File, len: u64, hasher: &mut Sha256) -> Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let copied = std::io::copy(&mut file.take(len), hasher)?;
    if copied != len {
        bail!("the partial download shrank while it was read");
    }
    Ok(())
}

/// `snapshots/<commit>/<file>` -> `../../blobs/<etag>`, as Python links it; a copy where the
/// file system has no symbolic links.
#[cfg_attr(unix, allow(unused_variables))]
fn link_blob(etag: &str, blob: &Path, pointer: &Path) -> Result<()> {
    let _ = std::fs::remove_file(pointer);
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(Path::new("../../blobs").join(etag), pointer);
    #[cfg(not(unix))]
    let linked = std::fs::copy(blob, pointer).map(drop);
    linked.with_context(|| format!("cannot link {} to its blob", pointer.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a cache path has a folder")?;
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("HF_ENDPOINT `{url}` is not a URL (like https://huggingface.co)"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if !matches!(scheme, "http" | "https") || host.is_empty() {
        bail!("HF_ENDPOINT `{url}` is not an http(s) URL");
    }
    Ok(format!("{scheme}://{host}"))
}

fn host_of(url: &str) -> &str {
    url.split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
        .unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_like_the_hub_writes_them() {
        let f = HubFile::parse("hub:timm/inception_resnet_v2.tf_in1k", DEFAULT_FILE).unwrap();
        assert_eq!(
            (f.repo.as_str(), f.revision.as_str()),
            ("timm/inception_resnet_v2.tf_in1k", "main")
        );
        let f = HubFile::parse("timm/inception_v4.tf_in1k@refs/pr/1", DEFAULT_FILE).unwrap();
        assert_eq!(f.revision, "refs/pr/1");
        for bad in [
            "",
            "a/b/c",
            "../x",
            "timm/..",
            "timm/a b",
            "timm/x@",
            "timm/x@../../etc",
            "/x",
        ] {
            assert!(HubFile::parse(bad, DEFAULT_FILE).is_err(), "{bad:?} parsed");
        }
        assert!(HubFile::parse("timm/x", "../model.safetensors").is_err());
    }
}
