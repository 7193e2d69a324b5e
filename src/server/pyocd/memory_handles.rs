//! One connection's memory handles: the numbers `get_memory_interface_for_ap`
//! hands out, each standing for a MEM-AP.
//!
//! A handle belongs to the connection that obtained it and dies with it.
//! Numbers come from one counter for the whole process, so a handle of one
//! connection is never a valid number on another (it is `invalid handle`
//! there, not someone else's AP). Asking again for the same AP gives the
//! same handle, which keeps the table as small as the set of MEM-APs.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::probe::ApAddress;

/// The most handles one connection may hold (an APv1 DP has 256 APs).
pub const MAX_HANDLES_PER_CONNECTION: usize = 1024;

/// Starts at 1: no handle is ever 0, the number a client that never asked
/// would most likely guess.
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Default)]
pub struct MemoryHandles {
    issued: Vec<(u64, ApAddress)>,
}

impl MemoryHandles {
    /// The handle for `ap`: the one already issued, or a new one. `None`
    /// when the connection holds as many as it may.
    pub fn issue(&mut self, ap: ApAddress) -> Option<u64> {
        if let Some(&(handle, _)) = self.issued.iter().find(|(_, issued)| *issued == ap) {
            return Some(handle);
        }
        if self.issued.len() >= MAX_HANDLES_PER_CONNECTION {
            return None;
        }
        let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        self.issued.push((handle, ap));
        Some(handle)
    }

    /// The AP behind `handle`, if this connection was given it.
    pub fn resolve(&self, handle: u64) -> Option<ApAddress> {
        self.issued
            .iter()
            .find(|(issued, _)| *issued == handle)
            .map(|&(_, ap)| ap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_ap_gets_the_same_handle_and_another_ap_another() {
        let mut handles = MemoryHandles::default();
        let ap0 = handles.issue(ApAddress::V1(0)).unwrap();
        let ap1 = handles.issue(ApAddress::V1(1)).unwrap();
        assert_ne!(ap0, ap1);
        assert_eq!(handles.issue(ApAddress::V1(0)), Some(ap0));
        assert_eq!(handles.resolve(ap0), Some(ApAddress::V1(0)));
        assert_eq!(handles.resolve(ap1), Some(ApAddress::V1(1)));
    }

    #[test]
    fn a_handle_of_another_connection_resolves_to_nothing() {
        let mut mine = MemoryHandles::default();
        let mut theirs = MemoryHandles::default();
        let my_handle = mine.issue(ApAddress::V1(0)).unwrap();
        let their_handle = theirs.issue(ApAddress::V1(0)).unwrap();
        assert_ne!(my_handle, their_handle);
        assert_eq!(mine.resolve(their_handle), None);
        assert_eq!(theirs.resolve(my_handle), None);
        assert_eq!(mine.resolve(0), None);
    }

    #[test]
    fn a_connection_holds_a_bounded_number_of_handles() {
        let mut handles = MemoryHandles::default();
        for base in 0..MAX_HANDLES_PER_CONNECTION as u32 {
            assert!(handles.issue(ApAddress::V2(base << 12)).is_some());
        }
        assert_eq!(handles.issue(ApAddress::V2(!0xFFF)), None);
        // One already held is still handed out.
        assert!(handles.issue(ApAddress::V2(0)).is_some());
    }
}
