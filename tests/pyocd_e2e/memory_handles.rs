//! pyOCD using a memory handle end to end: it takes the handle (its
//! "accelerated memory interface"), and 256 KiB of the virtual target's
//! code memory go in with `write_block8` and come out with `read_block8`
//! byte-exact, read both by commander's `savemem` and by the Python API.
//!
//! With pyOCD's own `remote:` client the server must be told to hand out
//! handles (`--memory-handles`, off by default), and the image goes in as a
//! list of ints: pyOCD 0.46.0's remote client puts the data of
//! `write_memory_block8` into its JSON request as given, and `loadmem`
//! (like `fill`, or any API caller passing `bytes`) gives a bytearray,
//! which Python's `json` refuses before anything is sent ("Object of type
//! bytearray is not JSON serializable").
//!
//! With the `probeshare:` plugin the server runs with its defaults: the
//! plugin declares the `memory_handles` feature (docs/protocol.md,
//! "Extensions") and gets a handle anyway, the image goes in as `bytes`,
//! and commander's `loadmem` then writes a second image through the
//! handle.
//!
//! A submodule of `tests/pyocd_e2e.rs`, using its `common` and `e2e`
//! helpers.

use crate::e2e::commander::CommanderScript;
use crate::e2e::process::run;
use crate::e2e::scratch::{assert_file_holds, ScratchDir};
use crate::e2e::venv::venv;
use crate::e2e::Client;

/// The code memory at 0x00000000: 512 KiB, writable on the virtual target
/// (its RAM is only 128 KiB).
const CODE_MEMORY: u32 = 0x0000_0000;
const IMAGE_SIZE: usize = 256 * 1024;

/// Writes the file argv[2] at argv[3] through pyOCD's Python API (as
/// `bytes` when argv[5] is "bytes", else as a list of ints), reads it back
/// into argv[4], and says whether the AP's memory goes through a memory
/// handle.
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
    data = open(image, "rb").read()
    target.write_memory_block8(address, data if sys.argv[5] == "bytes" else list(data))
    with open(output, "wb") as f:
        f.write(bytes(target.read_memory_block8(address, len(data))))
"#;

crate::for_each_client!(pyocd_moves_256_kib_of_code_memory_through_a_memory_handle);

fn pyocd_moves_256_kib_of_code_memory_through_a_memory_handle(client: Client) {
    let venv = venv();
    let scratch = ScratchDir::new(&format!("memory-handle-256k-{client:?}"));
    let (server, data_type) = match client {
        Client::Remote => (crate::common::start_server_with_memory_handles(), "list"),
        Client::Probeshare => (crate::common::start_server(), "bytes"),
    };
    let uid = client.uid(server.local_addr());
    let image = scratch.random_file("image.bin", IMAGE_SIZE);

    let api = run(
        "python API through a memory handle",
        venv.python(scratch.path())
            .arg("-c")
            .arg(WRITE_AND_READ_BACK)
            .arg(&uid)
            .arg(scratch.file("image.bin"))
            .arg(format!("{CODE_MEMORY:#x}"))
            .arg(scratch.file("api-read.bin"))
            .arg(data_type),
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

    if client == Client::Probeshare {
        let second = scratch.random_file("second.bin", IMAGE_SIZE);
        let mut s = CommanderScript::new();
        s.step("halt");
        let loadmem = s.step(&format!("loadmem {CODE_MEMORY:#x} second.bin"));
        let savemem = s.step(&format!(
            "savemem {CODE_MEMORY:#x} {IMAGE_SIZE} second-saved.bin"
        ));
        let t = s.run("commander loadmem", venv, &scratch, &uid);
        t.assert_printed(
            loadmem,
            &format!("Loaded {IMAGE_SIZE} bytes to {CODE_MEMORY:#010x}"),
        );
        t.assert_printed(savemem, &format!("Saved {IMAGE_SIZE} bytes"));
        assert_file_holds(&scratch.file("second-saved.bin"), &second);
    }
}
