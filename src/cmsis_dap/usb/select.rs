//! Choosing the probe `serve --probe PATTERN` means: the one whose serial
//! number is PATTERN, else the only one whose serial contains it (ignoring
//! case, so a serial can be typed in part and in lower case).

use std::fmt;

use super::FoundProbe;

/// Why no single probe matches a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectError {
    /// No serial contains the pattern; `available` describes every probe.
    NoMatch {
        pattern: String,
        available: Vec<String>,
    },
    /// Several serials contain the pattern; `candidates` describes them.
    Ambiguous {
        pattern: String,
        candidates: Vec<String>,
    },
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::NoMatch { pattern, available } if available.is_empty() => write!(
                f,
                "no CMSIS-DAP probe matches '{pattern}': none found (see `probeshare list`)"
            ),
            SelectError::NoMatch { pattern, available } => write!(
                f,
                "no CMSIS-DAP probe's serial number contains '{pattern}'; found: {}",
                available.join("; ")
            ),
            SelectError::Ambiguous {
                pattern,
                candidates,
            } => write!(
                f,
                "'{pattern}' matches {} probes, give more of the serial number: {}",
                candidates.len(),
                candidates.join("; ")
            ),
        }
    }
}

impl std::error::Error for SelectError {}

/// The probe `pattern` designates among `found`.
pub fn select_probe<'a>(
    found: &'a [FoundProbe],
    pattern: &str,
) -> Result<&'a FoundProbe, SelectError> {
    let wanted = pattern.to_lowercase();
    let serial = |probe: &FoundProbe| probe.serial.to_lowercase();
    let exact: Vec<&FoundProbe> = found.iter().filter(|p| serial(p) == wanted).collect();
    let matching: Vec<&FoundProbe> = if exact.is_empty() {
        found
            .iter()
            .filter(|p| serial(p).contains(&wanted))
            .collect()
    } else {
        exact
    };
    match matching.as_slice() {
        [only] => Ok(only),
        [] => Err(SelectError::NoMatch {
            pattern: pattern.to_owned(),
            available: found.iter().map(describe).collect(),
        }),
        several => Err(SelectError::Ambiguous {
            pattern: pattern.to_owned(),
            candidates: several.iter().map(|p| describe(p)).collect(),
        }),
    }
}

/// e.g. `0240000034544e45 (DAPLink CMSIS-DAP, 0d28:0204, USB 1-2.3)`.
fn describe(probe: &FoundProbe) -> String {
    let mut details = Vec::new();
    if let Some(product) = &probe.product {
        details.push(product.clone());
    }
    details.push(format!("{:04x}:{:04x}", probe.vid, probe.pid));
    if let Some(path) = &probe.usb_path {
        details.push(format!("USB {path}"));
    }
    format!("{} ({})", probe.serial, details.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_probes() -> Vec<FoundProbe> {
        vec![
            FoundProbe::daplink("0240000034544E45001B", "1-2"),
            FoundProbe::daplink("0240000034544E45002C", "1-3"),
        ]
    }

    #[test]
    fn part_of_a_serial_selects_its_probe_ignoring_case() {
        let found = two_probes();
        assert_eq!(
            select_probe(&found, "2c").unwrap().usb_path.as_deref(),
            Some("1-3")
        );
        assert_eq!(
            select_probe(&found, "0240000034544E45001B")
                .unwrap()
                .usb_path
                .as_deref(),
            Some("1-2")
        );
    }

    #[test]
    fn exact_serial_wins_over_longer_serials_containing_it() {
        let found = vec![
            FoundProbe::daplink("ABC1", "1-2"),
            FoundProbe::daplink("ABC12", "1-3"),
        ];
        assert_eq!(select_probe(&found, "abc1").unwrap().serial, "ABC1");
    }

    #[test]
    fn pattern_shared_by_several_probes_lists_them_all() {
        let found = two_probes();
        let error = select_probe(&found, "34544e45").unwrap_err();
        let SelectError::Ambiguous { candidates, .. } = &error else {
            panic!("expected ambiguity, got {error:?}");
        };
        assert_eq!(candidates.len(), 2);
        let message = error.to_string();
        assert!(
            message.contains("0240000034544E45001B (DAPLink CMSIS-DAP, 0d28:0204, USB 1-2)"),
            "{message}"
        );
        assert!(message.contains("0240000034544E45002C"), "{message}");
    }

    #[test]
    fn pattern_matching_nothing_names_what_was_found() {
        let found = two_probes();
        let message = select_probe(&found, "ffff").unwrap_err().to_string();
        assert!(message.contains("'ffff'"), "{message}");
        assert!(message.contains("0240000034544E45001B"), "{message}");
        let none = select_probe(&[], "ffff").unwrap_err().to_string();
        assert!(none.contains("none found"), "{none}");
    }
}
