//! Per-test working directories and test data: random bytes the test makes
//! itself, so a byte-exact comparison after a trip through pyOCD and the
//! server means something.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh, empty directory for one test under the cargo target directory.
/// It is kept afterwards, so the files of a failed run can be inspected.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new(test: &str) -> ScratchDir {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("pyocd-e2e")
            .join(test);
        if path.exists() {
            std::fs::remove_dir_all(&path).expect("clear scratch dir");
        }
        std::fs::create_dir_all(&path).expect("create scratch dir");
        ScratchDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside this directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `len` random bytes to `name` and returns them.
    pub fn random_file(&self, name: &str, len: usize) -> Vec<u8> {
        let bytes = random_bytes(len);
        std::fs::write(self.file(name), &bytes).expect("write random file");
        bytes
    }
}

/// `len` bytes from a generator seeded by the clock; the seed is printed so
/// a failing run can be told apart from the next.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
        ^ u64::from(std::process::id()).rotate_left(32);
    eprintln!("[e2e] random data seed {seed:#x}");
    let mut state = seed;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// SplitMix64: good enough to make every byte of a memory test differ from
/// its neighbours and from the previous run.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fails the test unless `path` holds exactly `expected`, naming the first
/// differing offset (a full dump of 64 KiB helps nobody).
pub fn assert_file_holds(path: &Path, expected: &[u8]) {
    let actual = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        actual.len(),
        expected.len(),
        "{} has the wrong length",
        path.display()
    );
    if let Some(offset) = actual.iter().zip(expected).position(|(a, e)| a != e) {
        panic!(
            "{} differs from what was written, first at offset {offset:#x}: {:#04x} instead of {:#04x}",
            path.display(),
            actual[offset],
            expected[offset]
        );
    }
}
