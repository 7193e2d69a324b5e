//! pyOCD's own client using a memory handle end to end: it takes the handle
//! (its "accelerated memory interface"), and 256 KiB of the virtual
//! target's code memory go in with `write_block8` and come out with
//! `read_block8` byte-exact, read both by commander's `savemem` and by the
//! Python API.
//!
//! A submodule of `tests/pyocd_e2e.rs`, using its `common` and `e2e`
//! helpers. The server hands out memory handles, which are off by default.
//!
//! The image goes in through the Python API as a list of ints, not through
//! commander's `loadmem`: pyOCD 0.46.0's remote client puts the data of
//! `write_memory_block8` into its JSON request as given, and `loadmem` (like
//! `fill`, or any API caller passing `bytes`) gives a bytearray, which
//! Python's `json` refuses before anything is sent ("Object of type
//! bytearray is not JSON serializable").

use crate::e2e::commander::CommanderScript;
use crate::e2e::process::run;
use crate::e2e::remote_uid;
use crate::e2e::scratch::{assert_file_holds, ScratchDir};
use crate::e2e::venv::venv;

/// The code memory at 0x00000000: 512 KiB, writable on the virtual target
/// (its RAM is only 128 KiB).
const CODE_MEMORY: u32 = 0x0000_0000;
const IMAGE_SIZE: usize = 256 * 1024;

/// Writes the file argv[2] at argv[3] through pyOCD's Python API, reads it
/// back into argv[4], and says whether the AP's memory goes through a
/// memory handle.
const WRITE_AND_READ_BACK: &str = r#"
import sys
from pyocd.core.helpers import ConnectHelper
uid, image, address, output = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), sys.argv[4]
session = ConnectHelper.session_with_chosen_probe(
    unique_id=uid, target_override="cortex_m", blocking=False,
    options={"connect_mode": "attach", "resume_on_disconnect": False})
with session:
    target = session.target
    target.halt()
    ap = target.dp.aps[0]
    print("accelerated" if ap._accelerated_memory_interface else "register-level")
    data = list(open(image, "rb").read())
    target.write_memory_block8(address, data)
    with open(output, "wb") as f:
        f.write(bytes(target.read_memory_block8(address, len(data))))
"#;

#[test]
fn pyocd_moves_256_kib_of_code_memory_through_a_memory_handle() {
    let venv = venv();
    let scratch = ScratchDir::new("memory-handle-256k");
    let server = crate::common::start_server_with_memory_handles();
    let uid = remote_uid(server.local_addr());
    let image = scratch.random_file("image.bin", IMAGE_SIZE);

    let api = run(
        "python API through a memory handle",
        venv.python(scratch.path())
            .arg("-c")
            .arg(WRITE_AND_READ_BACK)
            .arg(&uid)
            .arg(scratch.file("image.bin"))
            .arg(format!("{CODE_MEMORY:#x}"))
            .arg(scratch.file("api-read.bin")),
    );
    api.assert_success();
    assert!(
        api.stdout.contains("accelerated"),
        "pyOCD did not take the memory handle: {}",
        api.report()
    );
    assert_file_holds(&scratch.file("api-read.bin"), &image);

    let mut s = CommanderScript::new();
    s.step("halt");
    let savemem = s.step(&format!(
        "savemem {CODE_MEMORY:#x} {IMAGE_SIZE} savemem.bin"
    ));
    let t = s.run("commander savemem", venv, &scratch, &uid);
    t.assert_printed(savemem, &format!("Saved {IMAGE_SIZE} bytes"));
    assert_file_holds(&scratch.file("savemem.bin"), &image);
}
