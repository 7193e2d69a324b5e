//! Rule 11, clear-on-read status: DHCSR's S_RESET_ST and S_RETIRE_ST clear
//! when read, yet each client reads them as set when the event happened
//! since its own last DHCSR read, whoever read DHCSR in between.

use crate::common::Client;
use crate::core_debug::*;
use crate::steps::*;

/// Each client reads DHCSR, so nothing that happened so far is news to
/// either; then each reads it again and finds `bit` clear.
fn settle(a: &mut Client, b: &mut Client, bit: u32) {
    for client in [&mut *a, &mut *b] {
        dhcsr(client);
    }
    for (client, name) in [(a, "A"), (b, "B")] {
        let before = dhcsr(client);
        assert_eq!(before & bit, 0, "{name} before the event: {before:#x}");
    }
}

/// Reads DHCSR twice for `name`: `bit` set the first time, clear the second.
fn assert_seen_once(client: &mut Client, name: &str, bit: u32, event: &str) {
    let first = dhcsr(client);
    assert_ne!(
        first & bit,
        0,
        "{name}'s first DHCSR read since the {event} is {first:#x}, without the bit"
    );
    let second = dhcsr(client);
    assert_eq!(
        second & bit,
        0,
        "{name}'s second DHCSR read since the {event} is {second:#x}, still with the bit"
    );
}

fn reset_is_seen_by_each_client(halt_at_reset: bool) {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let (mut a, mut b) = (memory_session(addr), memory_session(addr));
    if halt_at_reset {
        write_word(&mut a, DEMCR, DEMCR_VC_CORERESET);
        halt_core(&mut a);
    }
    settle(&mut a, &mut b, S_RESET_ST);

    write_word(&mut a, AIRCR, AIRCR_SYSTEM_RESET);
    let after = dhcsr(&mut a);
    assert_ne!(
        after & S_RESET_ST,
        0,
        "A polling after its reset: {after:#x}"
    );
    let halted = after & S_HALT != 0;
    assert_eq!(halted, halt_at_reset, "A after its reset: {after:#x}");
    assert_eq!(dhcsr(&mut a) & S_RESET_ST, 0, "A's second read");

    assert_seen_once(&mut b, "B", S_RESET_ST, "reset");
    assert_eq!(dhcsr(&mut a) & S_RESET_ST, 0, "A's third read");
}

#[test]
fn a_reset_is_seen_by_each_client_with_the_core_running() {
    reset_is_seen_by_each_client(false);
}

#[test]
fn a_reset_is_seen_by_each_client_with_the_core_halting_at_reset() {
    reset_is_seen_by_each_client(true);
}

#[test]
fn a_step_is_seen_by_each_client() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let (mut a, mut b) = (memory_session(addr), memory_session(addr));
    halt_core(&mut a);
    settle(&mut a, &mut b, S_RETIRE_ST);

    // One instruction retires and the core halts again.
    write_word(&mut a, DHCSR, DHCSR_STEP);
    wait_until_halted(&mut a);
    assert_seen_once(&mut b, "B", S_RETIRE_ST, "step");
}

/// Polls DHCSR until the core is halted and S_RETIRE_ST has been seen
/// once, then checks that the next read has it clear.
fn wait_until_halted(a: &mut Client) {
    let mut retired = false;
    crate::common::wait_until("the step to halt the core", || {
        let value = dhcsr(a);
        retired |= value & S_RETIRE_ST != 0;
        value & S_HALT != 0
    });
    assert!(retired, "A never saw S_RETIRE_ST after its step");
    assert_eq!(dhcsr(a) & S_RETIRE_ST, 0, "A's read after the step");
}
