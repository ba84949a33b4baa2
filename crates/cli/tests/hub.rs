//! Weights by name from the Hugging Face Hub, against a loopback stand-in that answers as the
//! Hub does (tests/hub/standin.py: a 302 to a second origin, `X-Repo-Commit`,
//! `X-Linked-Etag`, `X-Linked-Size`, Range requests, the Hub's error codes), and against
//! Python's `huggingface_hub` for the cache they share.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

mod common;

const IRV2: &str = "timm/inception_resnet_v2.tf_in1k";
const V4: &str = "timm/inception_v4.tf_in1k";

fn fixture(arch: &str) -> PathBuf {
    let root = std::env::var("INCEPTION_FIXTURES").expect("INCEPTION_FIXTURES: run the suite with tests/run.sh");
    PathBuf::from(root).join(format!("{arch}_s0"))
}

/// The oracle venv's Python (it has `huggingface_hub`, which timm uses).
fn python() -> Command {
    Command::new(
        std::env::var("INCEPTION_ORACLE_PYTHON").expect("INCEPTION_ORACLE_PYTHON: run the suite with tests/run.sh"),
    )
}

/// A fresh folder per test, so that each has its own Hub cache (`HF_HOME`).
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inception-hub-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct StandIn {
    child: Child,
    hub: String,
    log: PathBuf,
}

impl StandIn {
    /// Serves the IRv2 and v4 fixtures as the two timm repositories.
    fn start(dir: &Path, faults: &[&str]) -> Self {
        let log = dir.join("requests.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hub/standin.py");
        let mut child = python()
            .arg(script)
            .arg("--repo")
            .arg(format!(
                "{IRV2}={}",
                fixture("inception_resnet_v2").join("weights.safetensors").display()
            ))
            .arg("--repo")
            .arg(format!(
                "{V4}={}",
                fixture("inception_v4").join("weights.safetensors").display()
            ))
            .arg("--log")
            .arg(&log)
            .args(faults)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the Hub stand-in starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let urls: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Self {
            child,
            hub: urls["hub"].as_str().unwrap().to_string(),
            log,
        }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `inception` with the Hub pointed at the stand-in and the cache in `home`.
fn inception(dir: &Path, hub: &str, home: &Path) -> Command {
    let mut c = common::inception_in(dir);
    c.env("HF_ENDPOINT", hub)
        .env("HF_HOME", home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN");
    c
}

fn ok(out: Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "failed: {stdout}{stderr}");
    (stdout, stderr)
}

fn fails(out: Output, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected a failure: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(stderr.contains(expected), "stderr lacks `{expected}`: {stderr}");
    stderr
}

fn repo_dir(home: &Path, repo: &str) -> PathBuf {
    home.join("hub").join(format!("models--{}", repo.replace('/', "--")))
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

#[test]
fn a_download_by_name_lands_in_the_python_layout_and_is_then_used_without_a_request() {
    let dir = tempdir("by-name");
    let home = dir.join("hf");
    let hub = StandIn::start(&dir, &[]);
    let (stdout, stderr) = ok(inception(&dir, &hub.hub, &home).args(["fetch", IRV2]).output().unwrap());
    assert!(stderr.contains("sha256 checked"), "{stderr}");
    assert!(stderr.contains("inception-resnet-v2 weights, 1000 classes"), "{stderr}");
    let path = PathBuf::from(stdout.trim());
    let fixture_weights = fixture("inception_resnet_v2").join("weights.safetensors");
    assert!(same_bytes(&path, &fixture_weights));

    // The Hub's layout: a ref, a snapshot whose file links to the blob named by its sha256.
    let repo = repo_dir(&home, IRV2);
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    assert_eq!(path, repo.join("snapshots").join(&commit).join("model.safetensors"));
    let link = std::fs::read_link(&path).unwrap();
    assert!(link.starts_with("../../blobs"), "{}", link.display());
    let blob_name = link.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(blob_name.len(), 64);
    // The HEAD on the Hub, then the bytes from the CDN it redirected to (another origin).
    let origins: Vec<(String, String)> = hub
        .requests()
        .iter()
        .map(|r| {
            (
                r["origin"].as_str().unwrap().into(),
                r["method"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(origins, [("hub".into(), "HEAD".into()), ("cdn".into(), "GET".into())]);

    // Python's huggingface_hub, offline, finds the file this download put there.
    let found = python()
        .args(["-c", "import sys; from huggingface_hub import hf_hub_download; print(hf_hub_download(sys.argv[1], 'model.safetensors'))", IRV2])
        .env("HF_HOME", &home)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let (found, _) = ok(found);
    assert_eq!(PathBuf::from(found.trim()), path);

    // `hub:` names in --weights use the cache: no request, and timm's classes.
    let png = fixture("inception_resnet_v2").join("input.png");
    let (stdout, _) = ok(inception(&dir, &hub.hub, &home)
        .args([
            "classify",
            "--backend",
            "flex",
            "--json",
            "--weights",
            &format!("hub:{IRV2}"),
        ])
        .arg(&png)
        .output()
        .unwrap());
    assert_eq!(hub.requests().len(), 2, "classify made a request for a cached file");
    let logits = inception_test_support::read_f32(fixture("inception_resnet_v2").join("logits_timm_eval.f32"));
    let best = (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap();
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["top5"][0]["index"].as_u64(), Some(best as u64), "{result}");

    // Offline, the cached file is used; a repository that is not cached is a clear error
    // with no request.
    let offline = |args: &[&str]| {
        inception(&dir, &hub.hub, &home)
            .env("HF_HUB_OFFLINE", "1")
            .args(args)
            .output()
            .unwrap()
    };
    ok(offline(&["fetch", IRV2]));
    fails(offline(&["fetch", V4]), "HF_HUB_OFFLINE");
    assert_eq!(hub.requests().len(), 2, "offline mode made a request");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_python_downloaded_is_used_as_it_is() {
    let dir = tempdir("python-first");
    let home = dir.join("hf");
    let hub = StandIn::start(&dir, &[]);
    // Python's own client against the stand-in: also checks that it answers as the Hub does.
    let script = "import sys; from huggingface_hub import hf_hub_download; print(hf_hub_download(sys.argv[1], 'model.safetensors'))";
    let (python_path, _) = ok(python()
        .args(["-c", script, V4])
        .env("HF_HOME", &home)
        .env("HF_ENDPOINT", &hub.hub)
        .env("HF_HUB_DISABLE_XET", "1")
        .output()
        .unwrap());
    let before = hub.requests().len();
    assert!(before >= 2, "python made {before} requests");
    let (stdout, _) = ok(inception(&dir, &hub.hub, &home).args(["fetch", V4]).output().unwrap());
    assert_eq!(stdout.trim(), python_path.trim());
    assert_eq!(hub.requests().len(), before, "a file in the cache was downloaded again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let dir = tempdir("resume");
    let home = dir.join("hf");
    let cut = 50_000_000u64;
    let hub = StandIn::start(&dir, &["--cut-after", &cut.to_string()]);
    fails(
        inception(&dir, &hub.hub, &home).args(["fetch", IRV2]).output().unwrap(),
        "run the command again to resume",
    );
    // What was received waits under Python's name for a partial download; nothing looks complete.
    let blobs: Vec<PathBuf> = std::fs::read_dir(repo_dir(&home, IRV2).join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert_eq!(blobs[0].extension().and_then(|e| e.to_str()), Some("incomplete"));
    assert_eq!(std::fs::metadata(&blobs[0]).unwrap().len(), cut);
    assert!(!repo_dir(&home, IRV2).join("snapshots").exists());

    let (stdout, stderr) = ok(inception(&dir, &hub.hub, &home).args(["fetch", IRV2]).output().unwrap());
    assert!(stderr.contains(&format!("resumed at byte {cut}")), "{stderr}");
    let ranges: Vec<String> = hub
        .requests()
        .iter()
        .filter_map(|r| r["range"].as_str().map(String::from))
        .collect();
    assert_eq!(ranges, [format!("bytes={cut}-")]);
    assert!(same_bytes(
        Path::new(stdout.trim()),
        &fixture("inception_resnet_v2").join("weights.safetensors")
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupted_download_is_refused_and_removed() {
    let dir = tempdir("corrupt");
    let home = dir.join("hf");
    let hub = StandIn::start(&dir, &["--corrupt"]);
    fails(
        inception(&dir, &hub.hub, &home).args(["fetch", V4]).output().unwrap(),
        "is corrupt: its sha256 is",
    );
    let blobs = std::fs::read_dir(repo_dir(&home, V4).join("blobs")).unwrap().count();
    assert_eq!(blobs, 0, "a corrupt download was kept");
    assert!(!repo_dir(&home, V4).join("snapshots").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hub_errors_say_what_is_wrong() {
    let dir = tempdir("errors");
    let home = dir.join("hf");
    let hub = StandIn::start(
        &dir,
        &["--token", "secret", "--rename", &format!("timm/inception_v4_old={V4}")],
    );
    let run = |args: &[&str], token: Option<&str>| {
        let mut c = inception(&dir, &hub.hub, &home);
        if let Some(t) = token {
            c.env("HF_TOKEN", t);
        }
        c.args(args).output().unwrap()
    };
    let stderr = fails(run(&["fetch", V4], None), "needs a token in HF_TOKEN");
    assert!(
        stderr.contains(&format!("repository {V4} not found on {}", hub.hub)),
        "{stderr}"
    );
    fails(
        run(&["fetch", V4], Some("wrong")),
        "the token in HF_TOKEN has no access",
    );
    fails(
        run(&["fetch", "timm/no_such_model"], Some("secret")),
        "repository timm/no_such_model not found",
    );
    fails(
        run(&["fetch", V4, "--file", "nope.bin"], Some("secret")),
        "nope.bin not found in repository",
    );
    fails(
        run(&["fetch", V4, "--revision", "v9"], Some("secret")),
        "revision `v9` not found",
    );
    fails(run(&["fetch", "not a name"], None), "is not a Hub repository name");
    // A renamed repository: the Hub's relative redirect is followed.
    let (stdout, _) = ok(run(&["fetch", "timm/inception_v4_old"], Some("secret")));
    assert!(same_bytes(
        Path::new(stdout.trim()),
        &fixture("inception_v4").join("weights.safetensors")
    ));
    // A checkpoint of another network, by name: the same clear error as for a file.
    let png = fixture("inception_v4").join("input.png");
    let out = inception(&dir, &hub.hub, &home)
        .env("HF_HUB_OFFLINE", "1")
        .args([
            "classify",
            "--backend",
            "flex",
            "--arch",
            "inception-resnet-v2",
            "--weights",
            "hub:timm/inception_v4_old",
        ])
        .arg(&png)
        .output()
        .unwrap();
    fails(out, "do not fit inception-resnet-v2");
    let _ = std::fs::remove_dir_all(&dir);
}
