//! The configuration file (`config::parse`) and the port state file
//! (`config::ports`), from any bytes: an error or a configuration, never
//! a panic. A configuration that parses prints (`config check`) as TOML
//! that parses back to the same configuration; a state file that loads
//! saves as one that loads back with the same ports.
//!
//! Input: the first byte picks the file (odd: the state file), the rest
//! is its text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use probeshare::config::ports::PortAllocations;
use probeshare::config::{self, PortRange};

const SERIALS: [&str; 3] = ["A", "0240000032044e45", "sim:x"];

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if which & 1 == 0 {
        configuration(text);
    } else {
        state_file(text);
    }
});

fn configuration(text: &str) {
    let Ok(config) = config::parse(text, "fuzz.toml") else {
        return;
    };
    let printed = config.to_toml();
    match config::parse(&printed, "printed.toml") {
        Ok(again) => assert_eq!(again, config, "printed as:\n{printed}"),
        Err(error) => panic!("the printed configuration does not parse: {error}\n{printed}"),
    }
}

fn state_file(text: &str) {
    // One file per fuzzing process (libFuzzer may run several).
    let path =
        std::env::temp_dir().join(format!("probeshare-fuzz-ports-{}.toml", std::process::id()));
    std::fs::write(&path, text).expect("the temporary directory is writable");
    let range = PortRange {
        first: 5600,
        last: 5603,
    };
    let dap_range = Some(PortRange {
        first: 6600,
        last: 6601,
    });
    let Ok(mut ports) = PortAllocations::load_with_dap(&path, range, dap_range, [5601]) else {
        return;
    };
    for serial in SERIALS {
        let _ = ports.allocate(serial);
        let _ = ports.allocate_dap(serial);
    }
    ports.save().expect("the state file can be saved");
    let again = PortAllocations::load_with_dap(&path, range, dap_range, [5601])
        .expect("a saved state file loads");
    for serial in SERIALS {
        assert_eq!(again.port_of(serial), ports.port_of(serial), "{serial}");
        assert_eq!(
            again.dap_port_of(serial),
            ports.dap_port_of(serial),
            "{serial}"
        );
    }
}
