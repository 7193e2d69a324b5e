//! The Python virtual environment with the pinned pyOCD, OpenOCD
//! (`openocd-esp32`), openocd-python and labgrid the end-to-end tests drive, built
//! by the tests themselves under the cargo target directory so a fresh
//! clone (and CI) needs nothing but python3 with venv, PyPI and, for
//! OpenOCD, Debian's libusb-1.0-0.
//!
//! It is reused while it was installed from the requirements file as it is
//! now (a copy kept inside the venv, `requirements.installed`, written only
//! after `pip install` succeeded) and its `pyocd --version` prints the pinned
//! version; any change to `requirements.txt` rebuilds it. Tests
//! of one binary share it through a `OnceLock`; test binaries or test
//! processes (nextest) running at once take an exclusive lock on a file
//! beside it, so only one of them ever builds it and the others wait and
//! reuse it. A build that fails fails every test that needs it: CI must
//! install what these tests need, never skip them.
//!
//! The repository's own Python package (`python/`, the `probeshare` pyOCD
//! plugin) is installed into it as `pip install ./python` installs it, and
//! installed again whenever its sources change: a digest of
//! `python/pyproject.toml`, `python/README.md` and every file under
//! `python/src` is kept beside the install (`probeshare.installed`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::process::{run, Spawned};

/// The pyOCD release the remote protocol implementation was checked against.
pub const PYOCD_VERSION: &str = "0.46.0";

/// The longest `pip install` may take.
const PIP_TIMEOUT: Duration = Duration::from_secs(600);

/// The virtual environment, ready to run pyOCD.
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// `pyocd` from the environment, run in `cwd` (pyOCD reads project
    /// files such as pyocd.yaml from its working directory).
    pub fn pyocd(&self, cwd: &Path) -> Command {
        self.command("pyocd", cwd)
    }

    /// A console script of the environment (`labgrid-client`, ...), run in
    /// `cwd`.
    pub fn tool(&self, program: &str, cwd: &Path) -> Command {
        self.command(program, cwd)
    }

    /// The environment's Python interpreter, run in `cwd`.
    pub fn python(&self, cwd: &Path) -> Command {
        self.command("python", cwd)
    }

    fn command(&self, program: &str, cwd: &Path) -> Command {
        let mut command = Command::new(self.dir.join("bin").join(program));
        command
            .current_dir(cwd)
            // Output is read while the child runs: no block buffering.
            .env("PYTHONUNBUFFERED", "1")
            .env("NO_COLOR", "1");
        command
    }
}

/// The shared environment, built on first use; fails the test if it cannot
/// be built.
pub fn venv() -> &'static Venv {
    static VENV: OnceLock<Result<Venv, String>> = OnceLock::new();
    match VENV.get_or_init(build_or_reuse) {
        Ok(venv) => venv,
        Err(why) => panic!(
            "cannot set up the end-to-end tests' venv (pyOCD {PYOCD_VERSION}, OpenOCD): {why}"
        ),
    }
}

/// Where the environment lives: `<target dir>/pyocd-venv`.
fn venv_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, so this honours
    // CARGO_TARGET_DIR too.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("pyocd-venv")
}

fn build_or_reuse() -> Result<Venv, String> {
    let venv = Venv { dir: venv_dir() };
    let lock_path = venv.dir.with_extension("lock");
    let lock_file = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock_file
        .lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let wanted = std::fs::read(requirements())
        .map_err(|e| format!("cannot read {}: {e}", requirements().display()))?;
    if installed_requirements(&venv).as_deref() != Some(wanted.as_slice())
        || installed_version(&venv).as_deref() != Some(PYOCD_VERSION)
    {
        let started = std::time::Instant::now();
        build(&venv)?;
        match installed_version(&venv) {
            Some(v) if v == PYOCD_VERSION => {
                // Only a venv that installed completely is ever reused.
                std::fs::write(venv.dir.join(INSTALLED), &wanted)
                    .map_err(|e| format!("cannot write {INSTALLED}: {e}"))?;
                eprintln!(
                    "[e2e] built {} in {:.1?}",
                    venv.dir.display(),
                    started.elapsed()
                );
            }
            other => {
                return Err(format!(
                    "after installing, pyocd --version gives {other:?}, not {PYOCD_VERSION}"
                ))
            }
        }
    }
    install_package(&venv)?;
    Ok(venv)
    // The lock is released when lock_file drops here.
}

/// The repository's Python package, `python/`.
pub fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The digest of the package's sources a venv installed, inside it.
const PACKAGE_INSTALLED: &str = "probeshare.installed";

/// Installs `python/` into `venv` unless these very sources are installed.
fn install_package(venv: &Venv) -> Result<(), String> {
    let digest = package_digest()?;
    let stamp = venv.dir.join(PACKAGE_INSTALLED);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    // The build backend (flit_core) and every dependency come pinned from
    // requirements.txt: nothing is fetched here.
    let installed = Spawned::start(
        "pip install ./python",
        venv.python(Path::new("."))
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .args(["--no-input", "--progress-bar", "off", "--no-index"])
            .args(["--no-build-isolation", "--no-deps", "--force-reinstall"])
            .arg(package_dir()),
    )
    .within(PIP_TIMEOUT)
    .finish();
    if !installed.status.success() {
        return Err(format!(
            "pip install ./python failed: {}",
            installed.report()
        ));
    }
    std::fs::write(&stamp, digest).map_err(|e| format!("cannot write {PACKAGE_INSTALLED}: {e}"))
}

/// A digest of what `pip install ./python` installs: the paths and contents
/// of the package's metadata and sources (caches left out).
fn package_digest() -> Result<String, String> {
    use std::hash::{DefaultHasher, Hasher};
    let root = package_dir();
    let mut files = vec![root.join("pyproject.toml"), root.join("README.md")];
    collect_sources(&root.join("src"), &mut files)?;
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        let content =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        hasher.write(
            file.strip_prefix(&root)
                .unwrap_or(file)
                .as_os_str()
                .as_encoded_bytes(),
        );
        hasher.write_usize(content.len());
        hasher.write(&content);
    }
    Ok(format!(
        "{:016x} over {} files\n",
        hasher.finish(),
        files.len()
    ))
}

fn collect_sources(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') || name == "__pycache__" || name.ends_with(".egg-info") {
            continue;
        }
        if path.is_dir() {
            collect_sources(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The requirements file the tests install.
fn requirements() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/requirements.txt")
}

/// The copy of the requirements a venv was built from, inside it.
const INSTALLED: &str = "requirements.installed";

/// The requirements `venv` was built from, or None when it was never built
/// completely.
fn installed_requirements(venv: &Venv) -> Option<Vec<u8>> {
    std::fs::read(venv.dir.join(INSTALLED)).ok()
}

/// What `pyocd --version` prints, or None when it does not run.
fn installed_version(venv: &Venv) -> Option<String> {
    let output = venv.pyocd(Path::new(".")).arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Creates the environment afresh and installs the pinned requirements.
fn build(venv: &Venv) -> Result<(), String> {
    if venv.dir.exists() {
        std::fs::remove_dir_all(&venv.dir)
            .map_err(|e| format!("cannot remove stale {}: {e}", venv.dir.display()))?;
    }
    let created = run(
        "python3 -m venv",
        Command::new("python3").arg("-m").arg("venv").arg(&venv.dir),
    );
    if !created.status.success() {
        return Err(format!(
            "python3 -m venv failed (Debian needs python3-venv): {}",
            created.report()
        ));
    }
    let installed = Spawned::start(
        "pip install -r tests/e2e/requirements.txt",
        venv.python(Path::new("."))
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .args(["--no-input", "--progress-bar", "off", "-r"])
            .arg(requirements()),
    )
    // Downloading every wheel on a cold cache takes longer than a test step.
    .within(PIP_TIMEOUT)
    .finish();
    if !installed.status.success() {
        return Err(format!("pip install failed: {}", installed.report()));
    }
    Ok(())
}
