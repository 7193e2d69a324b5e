//! End to end with OpenOCD (issue 11): the real OpenOCD of the pinned
//! `openocd-esp32` wheel, whose `cmsis-dap` driver has the `tcp` backend,
//! GDB through OpenOCD, and openocd-python, all against
//! `probeshare serve --probe sim --port 0 --dap-port 0`: OpenOCD alone, and
//! OpenOCD, GDB through it and openocd-python each while a pyOCD session
//! moves memory on the same probe (tests/openocd_e2e/overlapping.rs). The venv (tests/e2e/venv.rs) is the one tests/pyocd_e2e.rs
//! uses, built from tests/e2e/requirements.txt.
//!
//! Every child has a deadline (tests/e2e/process.rs), so nothing hangs.
//! Each scenario prints its duration on stderr (`[e2e] ...`, shown with
//! `--nocapture`). Missing tools (python3 venv, PyPI, libusb-1.0-0,
//! gdb-multiarch) fail these tests: scripts/test installs them.
//!
//! `PROBESHARE_OPENOCD_DEBUG=3` has each OpenOCD log every CMSIS-DAP packet.
//!
//! The `control_*` tests run the same OpenOCD work against the emulated
//! CMSIS-DAP firmware served directly over TCP (tests/openocd_e2e/bridge.rs),
//! without the server: when a test fails through the server and its control
//! passes, the fault is the server's.

#[path = "openocd_e2e/bridge.rs"]
mod bridge;
mod common;
mod e2e;
#[path = "openocd_e2e/framing.rs"]
mod framing;
#[path = "openocd_e2e/openocd.rs"]
mod openocd;
#[path = "openocd_e2e/overlapping.rs"]
mod overlapping;
#[path = "openocd_e2e/served.rs"]
mod served;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bridge::FirmwareBridge;
use e2e::process::{run, Spawned};
use e2e::scratch::{assert_file_holds, ScratchDir};
use e2e::venv::venv;
use framing::DapClient;
use openocd::{listening_port, openocd, write_board, OpenocdScript, Ports};
use probeshare::sim::RAM_BASE;
use served::ServedProbe;

/// Prints how long a scenario took when it ends (pass or fail).
pub struct Timed(&'static str, Instant);

impl Timed {
    pub fn start(scenario: &'static str) -> Timed {
        Timed(scenario, Instant::now())
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        eprintln!("[e2e] scenario {} took {:.2?}", self.0, self.1.elapsed());
    }
}

/// Where OpenOCD's 64 KiB image goes: the upper half of the 128 KiB RAM.
const IMAGE_AT: u32 = RAM_BASE + 0x1_0000;
const IMAGE_SIZE: usize = 64 * 1024;

/// OpenOCD alone on the DAP port `dap`: memory by words and bytes, a core
/// register, a 64 KiB image loaded, verified and dumped, reset, resume and
/// shutdown, every value checked and OpenOCD's exit code 0.
fn openocd_alone(scratch: &ScratchDir, dap: SocketAddr) {
    let board = write_board(scratch, "board.cfg", dap, Ports::default());
    let image = scratch.random_file("image.bin", IMAGE_SIZE);

    let mut s = OpenocdScript::new();
    let init = s.step("init");
    let halt = s.step("halt");
    let halted = s.step("echo \"state [chip.cpu curstate]\"");
    s.step("mww 0x20000100 0xdeadbeef");
    s.step("mww 0x20000104 0x01020304");
    let words = s.step("mdw 0x20000100 2");
    s.step("mww 0x20000120 0xcafef00d");
    s.step("mww 0x20000110 0xa5a55a5a 4");
    let filled = s.step("mdw 0x20000110 5");
    for (offset, byte) in [0x11, 0x22, 0x33, 0x44].into_iter().enumerate() {
        s.step(&format!("mwb {:#x} {byte:#04x}", 0x2000_0200 + offset));
    }
    let bytes = s.step("mdb 0x20000200 4");
    let bytes_as_word = s.step("mdw 0x20000200");
    s.step("mww 0x20000204 0");
    s.step("mwb 0x20000205 0xee 2");
    let odd_bytes = s.step("mdb 0x20000204 4");
    let r0_written = s.step("reg r0 0x12345678");
    let r0 = s.step("reg r0");
    let loaded = s.step(&format!("load_image image.bin {IMAGE_AT:#x} bin"));
    let verified = s.step(&format!("verify_image image.bin {IMAGE_AT:#x} bin"));
    let dumped = s.step(&format!("dump_image dumped.bin {IMAGE_AT:#x} {IMAGE_SIZE}"));
    let vectors = s.step("mdw 0x0 2");
    let reset = s.step("reset halt");
    let pc = s.step("reg pc");
    let reset_state = s.step("echo \"state [chip.cpu curstate]\"");
    let ram_after_reset = s.step("mdw 0x20000100 2");
    s.step("resume");
    let running = s.step("echo \"state [chip.cpu curstate]\"");
    s.step("halt");
    let halted_again = s.step("echo \"state [chip.cpu curstate]\"");
    s.step("shutdown");
    let t = s.run("openocd", scratch, &board);

    t.assert_printed(init, "SWD DPIDR 0x2ba01477");
    t.assert_printed(init, "Cortex-M4 r0p1 processor detected");
    t.assert_printed(init, "Examination succeed");
    assert!(!t.output(halt).contains("Error"), "{}", t.output(halt));
    t.assert_printed(halted, "state halted");
    t.assert_printed(words, "0x20000100: deadbeef 01020304");
    t.assert_printed(
        filled,
        "0x20000110: a5a55a5a a5a55a5a a5a55a5a a5a55a5a cafef00d",
    );
    t.assert_printed(bytes, "0x20000200: 11 22 33 44");
    t.assert_printed(bytes_as_word, "0x20000200: 44332211");
    t.assert_printed(odd_bytes, "0x20000204: 00 ee ee 00");
    t.assert_printed(r0_written, "r0 (/32): 0x12345678");
    t.assert_printed(r0, "r0 (/32): 0x12345678");
    t.assert_printed(
        loaded,
        &format!("{IMAGE_SIZE} bytes written at address {IMAGE_AT:#010x}"),
    );
    t.assert_printed(verified, &format!("verified {IMAGE_SIZE} bytes"));
    t.assert_printed(dumped, &format!("dumped {IMAGE_SIZE} bytes"));
    assert_file_holds(&scratch.file("dumped.bin"), &image);
    // The reset vector (word 1) is the reset handler at 0x100, Thumb bit set.
    t.assert_printed(vectors, "0x00000000: 20020000 00000101");
    t.assert_printed(reset, "halted due to debug-request");
    t.assert_printed(pc, "pc (/32): 0x00000100");
    t.assert_printed(reset_state, "state halted");
    t.assert_printed(ram_after_reset, "0x20000100: deadbeef 01020304");
    t.assert_printed(running, "state running");
    t.assert_printed(halted_again, "state halted");
}

#[test]
fn openocd_alone_reads_writes_loads_and_resets_through_the_dap_port() {
    openocd();
    let _timed = Timed::start("openocd alone");
    let scratch = ScratchDir::new("openocd-alone");
    let mut served = ServedProbe::start();
    openocd_alone(&scratch, served.dap);
    served.assert_running();
}

#[test]
fn control_openocd_alone_on_the_emulated_firmware_without_the_server() {
    openocd();
    let _timed = Timed::start("control: openocd alone on the firmware");
    let scratch = ScratchDir::new("control-openocd-alone");
    let bridge = FirmwareBridge::start();
    openocd_alone(&scratch, bridge.addr());
    let packets = bridge.finish().expect("the bridge served OpenOCD");
    eprintln!("[e2e] the firmware answered {packets} packets");
}

/// GDB's commands through OpenOCD's GDB server on `port`.
fn gdb_commands(port: u16) -> Vec<String> {
    [
        // Without a program GDB takes the host's ABI; a bare-metal one
        // makes it ask the server for real steps.
        "set osabi none".to_string(),
        "set confirm off".into(),
        format!("target remote 127.0.0.1:{port}"),
        "info registers".into(),
        "set {unsigned int}0x20000400 = 0x12345678".into(),
        "set {unsigned int}0x20000404 = 0x9abcdef0".into(),
        "set {unsigned int}0x20000408 = 0".into(),
        "set {unsigned char}0x20000409 = 0x5a".into(),
        "x/2wx 0x20000400".into(),
        "x/4xb 0x20000408".into(),
        // OpenOCD's own view of what GDB wrote.
        "monitor mdw 0x20000400 3".into(),
        "set $r2 = 0x600dcafe".into(),
        "stepi".into(),
        // After the step GDB reads everything afresh from the target.
        "info registers r2".into(),
        "x/3wx 0x20000400".into(),
        "info registers pc".into(),
        "detach".into(),
    ]
    .into_iter()
    .flat_map(|command| ["-ex".to_string(), command])
    .collect()
}

/// OpenOCD serving GDB on a port of its choice, ending when GDB detaches.
fn openocd_gdb_server(scratch: &ScratchDir, dap: SocketAddr) -> (Spawned, u16) {
    let board = write_board(
        scratch,
        "board.cfg",
        dap,
        Ports {
            gdb: Some(0),
            tcl: None,
        },
    );
    let mut server = Spawned::start(
        "openocd gdb server",
        openocd()
            .command(scratch.path())
            .arg("-f")
            .arg(&board)
            .args(["-c", "chip.cpu configure -event gdb-detach {shutdown}"])
            .args(["-c", "init"]),
    );
    server.wait_until("OpenOCD to listen for GDB", |_, err| {
        listening_port(err, "gdb").is_some()
    });
    let port = listening_port(&server.output().1, "gdb").expect("gdb port");
    (server, port)
}

fn gdb_through_openocd(scratch: &ScratchDir, dap: SocketAddr) {
    require_gdb_multiarch();
    let (server, port) = openocd_gdb_server(scratch, dap);
    let gdb = run(
        "gdb-multiarch",
        Command::new("gdb-multiarch")
            .current_dir(scratch.path())
            .args(["-nx", "-batch"])
            .args(gdb_commands(port)),
    );
    let served = server.finish();

    gdb.assert_success();
    let out = format!("{}{}", gdb.stdout, gdb.stderr);
    let report = || format!("{}\n--- OpenOCD ---\n{}", gdb.report(), served.report());
    for register in ["r0", "r12", "sp", "lr", "pc", "xpsr"] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{register} "))),
            "info registers lacks {register}: {}",
            report()
        );
    }
    for expected in [
        "0x20000400:\t0x12345678\t0x9abcdef0\n",
        "0x20000408:\t0x00\t0x5a\t0x00\t0x00\n",
        "0x20000400: 12345678 9abcdef0 00005a00",
        "0x20000400:\t0x12345678\t0x9abcdef0\t0x00005a00\n",
        "[Inferior 1 (Remote target) detached]",
    ] {
        assert!(out.contains(expected), "no {expected:?} in {}", report());
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("r2 ") && l.contains("0x600dcafe")),
        "r2 lost across stepi: {}",
        report()
    );
    assert!(
        !out.contains("Remote failure") && !out.contains("Remote connection closed"),
        "{}",
        report()
    );
    // The gdb-detach event shut OpenOCD down.
    served.assert_success();
    assert!(
        served.stderr.contains("shutdown command invoked"),
        "{}",
        report()
    );
}

#[test]
fn gdb_debugs_the_virtual_target_through_openocd_beside_pyocd() {
    openocd();
    let _timed = Timed::start("gdb through openocd beside pyocd");
    let scratch = ScratchDir::new("openocd-gdb");
    let mut served = ServedProbe::start();
    overlapping::beside_pyocd(&scratch, &served.pyocd_uid(), || {
        gdb_through_openocd(&scratch, served.dap)
    });
    served.assert_running();
}

#[test]
fn control_gdb_through_openocd_on_the_emulated_firmware_without_the_server() {
    openocd();
    let _timed = Timed::start("control: gdb through openocd on the firmware");
    let scratch = ScratchDir::new("control-openocd-gdb");
    let bridge = FirmwareBridge::start();
    gdb_through_openocd(&scratch, bridge.addr());
    bridge.finish().expect("the bridge served OpenOCD");
}

/// A helper script in tests/e2e.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e")
        .join(name)
}

/// openocd-python's `Session.start_sync` spawning OpenOCD with one
/// self-contained board file (tests/e2e/openocd_python.py).
fn openocd_python_session(scratch: &ScratchDir, dap: SocketAddr) {
    let tcl = common::free_port();
    let board = write_board(
        scratch,
        "board.cfg",
        dap,
        Ports {
            gdb: None,
            tcl: Some(tcl),
        },
    );
    let finished = run(
        "openocd-python",
        venv()
            .python(scratch.path())
            .arg(script("openocd_python.py"))
            .arg(&board)
            .arg(&openocd().binary)
            .arg(tcl.to_string()),
    );
    finished.assert_success();
    for expected in [
        "openocd processes = 1",
        "state = halted",
        "words = [287454020, 3405705229, 195936478, 4294967295]",
        "bytes = [161, 178, 195]",
        "r3 = 0x5eed1234",
        "pc = 0x",
        "tcl port closed",
    ] {
        assert!(
            finished.stdout.contains(expected),
            "no {expected:?} in {}",
            finished.report()
        );
    }
    let pid: u32 = finished
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("openocd gone = "))
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid: {}", finished.report()));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "OpenOCD (pid {pid}) outlived the session"
    );
}

#[test]
fn openocd_python_session_spawns_openocd_on_the_dap_port_and_ends_it_beside_pyocd() {
    openocd();
    let _timed = Timed::start("openocd-python session beside pyocd");
    let scratch = ScratchDir::new("openocd-python");
    let mut served = ServedProbe::start();
    overlapping::beside_pyocd(&scratch, &served.pyocd_uid(), || {
        openocd_python_session(&scratch, served.dap)
    });
    served.assert_running();
}

#[test]
fn control_openocd_python_session_on_the_emulated_firmware_without_the_server() {
    openocd();
    let _timed = Timed::start("control: openocd-python on the firmware");
    let scratch = ScratchDir::new("control-openocd-python");
    let bridge = FirmwareBridge::start();
    openocd_python_session(&scratch, bridge.addr());
    bridge.finish().expect("the bridge served OpenOCD");
}

/// What OpenOCD takes from DAP_Info to batch its work, read the way it
/// reads it (three requests in flight before the first response): the
/// packet size 1024, the packet count 4 and SWD without JTAG.
fn dap_info_as_openocd_reads_it(dap: SocketAddr) {
    let mut client = DapClient::connect(dap);
    for id in [0xF0u8, 0xFE, 0xFF] {
        client.send(&[0x00, id]);
    }
    let capabilities = client.recv();
    let count = client.recv();
    let size = client.recv();
    // One or two capability bytes (CMSIS-DAP 2.1 has a second).
    assert!(
        capabilities.len() >= 3 && capabilities[0] == 0x00 && capabilities[1] >= 1,
        "{capabilities:02x?}"
    );
    assert_eq!(
        capabilities[2] & 0b11,
        0b01,
        "SWD only: {capabilities:02x?}"
    );
    assert_eq!(count, [0x00, 0x01, 4], "packet count");
    assert_eq!(size, [0x00, 0x02, 0x00, 0x04], "packet size 1024");
}

#[test]
fn dap_port_announces_the_packet_size_and_count_openocd_batches_for() {
    let served = ServedProbe::start();
    dap_info_as_openocd_reads_it(served.dap);
}

#[test]
fn control_the_emulated_firmware_announces_the_same() {
    let bridge = FirmwareBridge::start();
    dap_info_as_openocd_reads_it(bridge.addr());
}

/// Fails (never skips) when gdb-multiarch is missing: CI installs it.
pub fn require_gdb_multiarch() {
    let found = Command::new("gdb-multiarch").arg("--version").output();
    assert!(
        matches!(&found, Ok(output) if output.status.success()),
        "gdb-multiarch is required by this test and did not run ({found:?}); \
         install it with `apt-get install -y gdb-multiarch` (scripts/test does)"
    );
}
