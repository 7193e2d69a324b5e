//! How many connections each peer address holds, for the per-peer
//! connection limit (`Limits::max_connections_per_peer`): one host, however
//! many sockets it opens, cannot take every connection a probe allows.
//!
//! Counted by IP address alone (a host's ports are all one peer), an
//! IPv4-mapped IPv6 address as its IPv4 address, so a dual-stack socket
//! cannot double a host's share.

use std::collections::HashMap;
use std::net::IpAddr;

/// Open connections per peer address; an address with none has no entry.
#[derive(Debug, Default)]
pub struct PeerCounts(HashMap<IpAddr, usize>);

impl PeerCounts {
    fn key(address: IpAddr) -> IpAddr {
        address.to_canonical()
    }

    /// Connections `address` holds now.
    pub fn of(&self, address: IpAddr) -> usize {
        self.0.get(&Self::key(address)).copied().unwrap_or(0)
    }

    /// A connection from `address` was accepted.
    pub fn add(&mut self, address: IpAddr) {
        *self.0.entry(Self::key(address)).or_insert(0) += 1;
    }

    /// A connection from `address` closed.
    pub fn remove(&mut self, address: IpAddr) {
        let key = Self::key(address);
        if let Some(count) = self.0.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.0.remove(&key);
            }
        }
    }

    /// Addresses holding at least one connection.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_ipv4_address_counts_as_its_ipv4_address_and_counts_go_back_to_nothing() {
        let mut peers = PeerCounts::default();
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        peers.add(v4);
        peers.add(mapped);
        assert_eq!(peers.of(v4), 2);
        assert_eq!(peers.of("192.0.2.8".parse().unwrap()), 0);
        peers.remove(mapped);
        peers.remove(v4);
        assert_eq!(peers.of(v4), 0);
        assert_eq!(peers.len(), 0, "no entry is kept for a peer that left");
    }
}
