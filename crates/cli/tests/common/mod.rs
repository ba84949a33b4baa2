//! What the CLI's test files share: how they start the `inception` binary.

use std::path::Path;
use std::process::Command;

/// The `inception` binary, run in `dir` as a user would run it, with the test suite's cubecl
/// settings (crates/cubecl.toml: a quick autotune) written there, where cubecl looks for
/// them. They also point cubecl at the environment the in-process tests use (the workspace's
/// `target/environment`): the kernels that the parity tests have already tuned and compiled
/// for lavapipe are not tuned again for each command.
pub fn inception_in(dir: &Path) -> Command {
    let environment = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/environment");
    let settings = format!(
        "{}\n[environment]\npath = {{ directory = {:?} }}\n",
        include_str!("../../../cubecl.toml"),
        environment.display().to_string()
    );
    std::fs::write(dir.join("cubecl.toml"), settings).expect("the test's working folder is writable");
    let mut command = Command::new(env!("CARGO_BIN_EXE_inception"));
    command.current_dir(dir);
    command
}
