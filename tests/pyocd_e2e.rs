//! End to end: the real pyOCD (pinned, installed by the tests into
//! `target/pyocd-venv`) and GDB through `pyocd gdbserver` debug the virtual
//! target behind a probeshare on port 0, as a user without hardware would.
//!
//! Each scenario runs twice (`for_each_client!`): with pyOCD's own
//! `remote:` client and with the repository's plugin, `probeshare:`
//! (python/, installed into the same venv).
//!
//! Every child has a deadline (tests/e2e/process.rs). Each scenario prints
//! its duration on stderr (`[e2e] ...`), shown with `--nocapture`.
//! Missing tools (python3 venv, PyPI, gdb-multiarch) fail these tests:
//! `.ci/run` installs them.

mod common;
mod e2e;
#[path = "pyocd_e2e/memory_handles.rs"]
mod memory_handles;
#[path = "pyocd_e2e/overlapping.rs"]
mod overlapping;
#[path = "pyocd_e2e/threads.rs"]
mod threads;

use std::process::Command;
use std::time::Instant;

use e2e::api::{self, Region};
use e2e::commander::CommanderScript;
use e2e::process::{run, Spawned};
use e2e::rounds::Rounds;
use e2e::scratch::{assert_file_holds, ScratchDir};
use e2e::venv::venv;
use e2e::Client;
use probeshare::sim::RAM_BASE;

/// Prints how long a scenario took when it ends (pass or fail).
struct Timed(&'static str, Instant);

impl Timed {
    fn start(scenario: &'static str) -> Timed {
        Timed(scenario, Instant::now())
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        eprintln!("[e2e] scenario {} took {:.2?}", self.0, self.1.elapsed());
    }
}

for_each_client!(
    commander_session_reads_writes_resets_and_breaks_on_the_virtual_target,
    python_api_session_writes_and_reads_back_64_kib_of_ram,
    commander_and_python_api_sessions_work_side_by_side,
    killed_session_leaves_the_other_session_working,
    gdb_debugs_the_virtual_target_through_pyocd_gdbserver,
    rtt_style_byte_writes_reach_memory_byte_exact,
);

fn commander_session_reads_writes_resets_and_breaks_on_the_virtual_target(client: Client) {
    let venv = venv();
    let _timed = Timed::start("commander");
    let scratch = ScratchDir::new(&format!("commander-{client:?}"));
    let server = common::start_server();
    let image = scratch.random_file("loadmem.bin", 8 * 1024);

    let mut s = CommanderScript::new();
    let first_status = s.step("status");
    let halt = s.step("halt");
    let halted_status = s.step("status");
    let all_registers = s.step("reg");
    s.step("wreg r0 0x1234");
    let r0 = s.step("reg r0");
    s.step("write32 0x20000100 0xdeadbeef 0x01020304");
    let words = s.step("read32 0x20000100 8");
    s.step("write8 0x20000200 0x11 0x22 0x33 0x44");
    let bytes = s.step("read8 0x20000200 4");
    let bytes_as_word = s.step("read32 0x20000200 4");
    s.step("write32 0x20000310 0xcafef00d");
    let fill = s.step("fill 32 0x20000300 16 0xa5a55a5a");
    let filled = s.step("read32 0x20000300 20");
    let loadmem = s.step("loadmem 0x20001000 loadmem.bin");
    let savemem = s.step("savemem 0x20001000 8192 savemem.bin");
    let vector_table = s.step("read32 0x0 8");
    let reset = s.step("reset halt");
    let pc = s.step("reg pc");
    // The breakpoint goes on the reset handler, where the core now is: the
    // virtual core spins on its PC when running, so resuming hits it at once.
    let set_break = s.step("break 0x100");
    let breakpoints = s.step("lsbreak");
    let resume_onto_break = s.step("continue");
    let stopped_status = s.step("status");
    let remove_break = s.step("rmbreak 0x100");
    let no_breakpoints = s.step("lsbreak");
    let resume = s.step("continue");
    let running_status = s.step("status");
    let halt_again = s.step("halt");
    let final_status = s.step("status");
    let t = s.run(
        "commander",
        venv,
        &scratch,
        &client.uid(server.local_addr()),
    );

    t.assert_printed(first_status, "Core 0");
    t.assert_printed(halt, "Successfully halted device");
    t.assert_printed(halted_status, "Halted");
    t.assert_printed(all_registers, "general registers:");
    for register in ["r0", "r12", "sp", "lr", "pc", "xpsr"] {
        t.assert_printed(all_registers, register);
    }
    t.assert_printed(r0, "r0 = 0x00001234");
    t.assert_printed(words, "20000100:  deadbeef 01020304");
    t.assert_printed(bytes, "20000200:  11 22 33 44");
    t.assert_printed(bytes_as_word, "20000200:  44332211");
    t.assert_printed(
        fill,
        "Filling 0x20000300-0x2000030f with pattern 0xa5a55a5a",
    );
    t.assert_printed(filled, "20000300:  a5a55a5a a5a55a5a a5a55a5a a5a55a5a");
    // The fill stops at its length: the word after it is untouched.
    t.assert_printed(filled, "20000310:  cafef00d");
    t.assert_printed(loadmem, "Loaded 8192 bytes to 0x20001000");
    t.assert_printed(savemem, "Saved 8192 bytes to savemem.bin");
    assert_file_holds(&scratch.file("savemem.bin"), &image);

    // The second word of the vector table is the reset vector.
    let reset_vector = t.dumped_word(vector_table, 1);
    t.assert_printed(reset, "Successfully halted device on reset");
    // The Thumb bit of the vector is not part of the PC.
    assert_eq!(
        reset_vector & !1,
        0x100,
        "the script breaks on the reset handler of the boot image"
    );
    t.assert_printed(pc, "pc = 0x00000100");
    t.assert_printed(set_break, "Set breakpoint at 0x00000100");
    t.assert_printed(breakpoints, "hardware breakpoints available");
    t.assert_printed(breakpoints, "0: 0x00000100");
    t.assert_printed(
        resume_onto_break,
        "Device is halted; a debug event may have occurred",
    );
    t.assert_printed(stopped_status, "Halted");
    t.assert_printed(remove_break, "Removed breakpoint at 0x00000100");
    t.assert_printed(no_breakpoints, "No breakpoints installed");
    t.assert_printed(resume, "Successfully resumed device");
    t.assert_printed(running_status, "Running");
    t.assert_printed(halt_again, "Successfully halted device");
    t.assert_printed(final_status, "Halted");
}

fn python_api_session_writes_and_reads_back_64_kib_of_ram(client: Client) {
    let venv = venv();
    let _timed = Timed::start("python API 64 KiB");
    let scratch = ScratchDir::new(&format!("api-64k-{client:?}"));
    let server = common::start_server();
    let data = scratch.random_file("written.bin", 64 * 1024);
    let region = Region {
        address: RAM_BASE + 0x8000,
        size: data.len(),
    };

    let finished = run(
        "python API roundtrip",
        &mut api::roundtrip(
            venv,
            scratch.path(),
            &client.uid(server.local_addr()),
            region,
            (&scratch.file("written.bin"), &scratch.file("read.bin")),
            ("r7", 0x00c0_ffee),
        ),
    );

    finished.assert_success();
    assert_file_holds(&scratch.file("read.bin"), &data);
    assert!(
        finished.stdout.contains("r7 = 0x00c0ffee"),
        "register not read back: {}",
        finished.report()
    );
}

fn commander_and_python_api_sessions_work_side_by_side(client: Client) {
    let venv = venv();
    let _timed = Timed::start("two sessions side by side");
    let scratch = ScratchDir::new(&format!("side-by-side-{client:?}"));
    let server = common::start_server();
    let uid = client.uid(server.local_addr());
    // Small rounds, so that several fit in the commander's steps (about
    // 0.1 s of its 1 s or so, the rest being pyOCD starting and stopping).
    let api_data = scratch.random_file("api-written.bin", 2 * 1024);
    let image = scratch.random_file("loadmem.bin", 8 * 1024);
    let api_region = Region {
        address: RAM_BASE + 0x1_0000,
        size: api_data.len(),
    };

    let mut soak = Spawned::start(
        "python API soak beside commander",
        &mut api::soak(
            venv,
            scratch.path(),
            &uid,
            api_region,
            (
                &scratch.file("api-written.bin"),
                &scratch.file("api-read.bin"),
            ),
            ("r6", 0x600d_f00d),
        ),
    );
    wait_for_rounds(&mut soak, 1);

    let mut s = CommanderScript::new();
    let first_step = s.clock();
    s.step("halt");
    s.step("wreg r1 0x5a5a1234");
    let r1 = s.step("reg r1");
    let loadmem = s.step("loadmem 0x20000000 loadmem.bin");
    let savemem = s.step("savemem 0x20000000 8192 savemem.bin");
    s.step("write32 0x20004000 0x11223344");
    let word = s.step("read32 0x20004000 4");
    let r1_again = s.step("reg r1");
    let last_step = s.clock();
    let t = s.run("commander beside soak", venv, &scratch, &uid);
    let commander_steps = (t.clock(first_step), t.clock(last_step));

    // The soak goes on past the commander's last step.
    soak.wait_until("a round after the commander's last step", |out, _| {
        let rounds = Rounds::parse("soak", out);
        rounds.rounds.iter().any(|r| r.start_ns > commander_steps.1)
    });
    soak.send_line("finish");
    let soaked = soak.finish();
    soaked.assert_success();

    t.assert_printed(r1, "r1 = 0x5a5a1234");
    t.assert_printed(loadmem, "Loaded 8192 bytes to 0x20000000");
    t.assert_printed(savemem, "Saved 8192 bytes");
    assert_file_holds(&scratch.file("savemem.bin"), &image);
    t.assert_printed(word, "20004000:  11223344");
    // The other session's memory work left the register alone.
    t.assert_printed(r1_again, "r1 = 0x5a5a1234");
    assert_file_holds(&scratch.file("api-read.bin"), &api_data);
    assert!(
        soaked.stdout.contains("r6 = 0x600df00d"),
        "{}",
        soaked.report()
    );
    // Interleaved, not one after the other: the API session kept passing
    // rounds between the commander session's first step and its last, not
    // only while commander started up or shut down.
    let soak_rounds = Rounds::parse("soak", &soaked.stdout);
    let rounds_during = soak_rounds.within(commander_steps);
    eprintln!(
        "[e2e] the API session passed {rounds_during} rounds during the commander session's {:.2?} of steps",
        std::time::Duration::from_nanos(commander_steps.1 - commander_steps.0)
    );
    assert!(
        rounds_during >= ROUNDS_BESIDE_COMMANDER,
        "the API session passed only {rounds_during} rounds during the commander session's steps"
    );
}

fn rtt_style_byte_writes_reach_memory_byte_exact(client: Client) {
    let venv = venv();
    let _timed = Timed::start("RTT-style byte writes");
    let scratch = ScratchDir::new(&format!("rtt-{client:?}"));
    let server = common::start_server();
    let region = Region {
        address: RAM_BASE + 0x6000,
        size: 16 + 1024,
    };

    let finished = run(
        "RTT-style byte writes",
        &mut api::rtt(
            venv,
            scratch.path(),
            &client.uid(server.local_addr()),
            region,
            RTT_MESSAGES,
        ),
    );

    finished.assert_success();
    assert!(
        finished
            .stdout
            .contains(&format!("rtt {RTT_MESSAGES} messages ok")),
        "{}",
        finished.report()
    );
}

/// Enough messages to wrap the 1 KiB ring several times.
const RTT_MESSAGES: usize = 150;

/// Rounds of the soak that must fall between the commander's first and last
/// step.
const ROUNDS_BESIDE_COMMANDER: usize = 3;

fn killed_session_leaves_the_other_session_working(client: Client) {
    let venv = venv();
    let _timed = Timed::start("one session killed");
    let scratch = ScratchDir::new(&format!("killed-{client:?}"));
    let server = common::start_server();
    let uid = client.uid(server.local_addr());
    let data = scratch.random_file("survivor-written.bin", 16 * 1024);
    let soak = |name: &str, address: u32, register: &str| {
        let (input, output) = (format!("{name}-written.bin"), format!("{name}-read.bin"));
        Spawned::start(
            name,
            &mut api::soak(
                venv,
                scratch.path(),
                &uid,
                Region {
                    address,
                    size: 16 * 1024,
                },
                (&scratch.file(&input), &scratch.file(&output)),
                (register, 0x5afe),
            ),
        )
    };
    let mut victim = soak("victim", RAM_BASE, "r4");
    let mut survivor = soak("survivor", RAM_BASE + 0x1_0000, "r6");
    wait_for_rounds(&mut victim, 1);
    wait_for_rounds(&mut survivor, 1);

    victim.kill();
    // Two more rounds: at least one started after the victim was gone.
    let rounds_at_kill = Rounds::parse("survivor", &survivor.output().0).len();
    wait_for_rounds(&mut survivor, rounds_at_kill + 2);
    survivor.send_line("finish");
    let survived = survivor.finish();

    survived.assert_success();
    assert_file_holds(&scratch.file("survivor-read.bin"), &data);
    assert!(
        survived.stdout.contains("r6 = 0x00005afe"),
        "{}",
        survived.report()
    );
}

/// Waits until `soak` has passed `count` rounds.
fn wait_for_rounds(soak: &mut Spawned, count: usize) {
    soak.wait_until(&format!("{count} rounds"), |out, _| {
        Rounds::parse("soak", out).len() >= count
    });
}

fn gdb_debugs_the_virtual_target_through_pyocd_gdbserver(client: Client) {
    let venv = venv();
    require_gdb_multiarch();
    let _timed = Timed::start("gdb through pyocd gdbserver");
    let scratch = ScratchDir::new(&format!("gdb-{client:?}"));
    let server = common::start_server();
    let mut gdbserver = Spawned::start(
        "pyocd gdbserver",
        venv.pyocd(scratch.path())
            .args(["gdbserver", "-u", &client.uid(server.local_addr())])
            .args(["-t", "cortex_m", "--port", "0"])
            // Its semihosting console port too (4444 by default), so GDB
            // servers of tests running at once do not collide.
            .args(["-O", "stdio_port=0"]),
    );
    gdbserver.wait_for("GDB server listening on port ");
    let gdb_port = listening_port(&gdbserver.output().1);

    let gdb = run(
        "gdb-multiarch",
        Command::new("gdb-multiarch")
            .current_dir(scratch.path())
            .args(["-nx", "-batch"])
            .args(gdb_commands(gdb_port)),
    );
    let served = gdbserver.finish();

    gdb.assert_success();
    let out = format!("{}{}", gdb.stdout, gdb.stderr);
    for register in ["r0", "r12", "sp", "lr", "pc", "xpsr"] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{register} "))),
            "info registers lacks {register}: {}",
            gdb.report()
        );
    }
    for expected in [
        "0x20000000:\t0x",
        // The write reached the target and reads back.
        "0x20000000:\t0x12345678\n",
        "Successfully halted device on reset",
        "Hardware assisted breakpoint 1 at 0x100",
        "[Inferior 1 (Remote target) detached]",
    ] {
        assert!(
            out.contains(expected),
            "no {expected:?} in {}",
            gdb.report()
        );
    }
    // Without --persist, the GDB server ends when GDB detaches.
    served.assert_success();
}

fn gdb_commands(port: u16) -> Vec<String> {
    [
        format!("target remote 127.0.0.1:{port}"),
        "info registers".into(),
        "x/4wx 0x20000000".into(),
        "set {int}0x20000000 = 0x12345678".into(),
        "x/1wx 0x20000000".into(),
        "monitor reset halt".into(),
        "hbreak *0x100".into(),
        "detach".into(),
    ]
    .into_iter()
    .flat_map(|command| ["-ex".to_string(), command])
    .collect()
}

/// The port from pyOCD's "GDB server listening on port N" log line.
fn listening_port(log: &str) -> u16 {
    log.split("GDB server listening on port ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in pyOCD's log: {log}"))
}

/// Fails (never skips) when gdb-multiarch is missing: CI installs it.
fn require_gdb_multiarch() {
    let found = Command::new("gdb-multiarch").arg("--version").output();
    assert!(
        matches!(&found, Ok(output) if output.status.success()),
        "gdb-multiarch is required by this test and did not run ({found:?}); \
         install it with `apt-get install -y gdb-multiarch` (.ci/run does)"
    );
}
