//! Client networks in CIDR notation (`192.168.1.0/24`, `fd00::/8`), the
//! entries of the `allow` list.

use std::fmt;
use std::net::IpAddr;

/// A network: an address whose bits past `prefix_len` are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// Parses `ADDRESS/PREFIX`, or a bare address meaning that one host.
    /// Host bits set (`10.1.2.3/8`) are an error rather than silently
    /// cleared: they usually mean a mistyped prefix.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address_text, prefix_text) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address_text
            .parse()
            .map_err(|_| format!("'{address_text}' is not an IPv4 or IPv6 address"))?;
        let max_len = max_prefix_len(network);
        let prefix_len = match prefix_text {
            None => max_len,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= max_len && !prefix.starts_with('+'))
                .ok_or_else(|| format!("prefix '/{prefix}' is not a number from 0 to {max_len}"))?,
        };
        let cidr = Cidr {
            network,
            prefix_len,
        };
        if cidr.masked(network) != network {
            let network_only = Cidr {
                network: cidr.masked(network),
                prefix_len,
            };
            return Err(format!(
                "host bits are set after the /{prefix_len} prefix (the network is {network_only})"
            ));
        }
        Ok(cidr)
    }

    /// Whether `address` is in this network. An IPv4 client seen through
    /// an IPv6 socket (`::ffff:a.b.c.d`) counts as its IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && self.masked(address) == self.network
    }

    fn masked(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }
}

fn max_prefix_len(address: IpAddr) -> u8 {
    if address.is_ipv4() {
        32
    } else {
        128
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_network_contains_its_hosts_only() {
        let net = Cidr::parse("192.168.1.0/24").unwrap();
        assert!(net.contains(ip("192.168.1.0")));
        assert!(net.contains(ip("192.168.1.255")));
        assert!(!net.contains(ip("192.168.2.1")));
        assert!(!net.contains(ip("::1")));
    }

    #[test]
    fn ipv6_network_contains_its_hosts_only() {
        let net = Cidr::parse("fd00:1234::/32").unwrap();
        assert!(net.contains(ip("fd00:1234:ffff::1")));
        assert!(!net.contains(ip("fd00:1235::1")));
        assert!(!net.contains(ip("10.0.0.1")));
    }

    #[test]
    fn bare_address_is_a_single_host() {
        let host = Cidr::parse("10.0.0.7").unwrap();
        assert_eq!(host.to_string(), "10.0.0.7/32");
        assert!(host.contains(ip("10.0.0.7")));
        assert!(!host.contains(ip("10.0.0.8")));
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");
    }

    #[test]
    fn zero_prefix_matches_every_address_of_its_family() {
        let all_v4 = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all_v4.contains(ip("203.0.113.9")));
        assert!(!all_v4.contains(ip("2001:db8::1")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_client_matches_ipv4_network() {
        let net = Cidr::parse("127.0.0.0/8").unwrap();
        assert!(net.contains(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn host_bits_after_prefix_are_rejected_with_the_network_named() {
        let err = Cidr::parse("10.1.2.3/8").unwrap_err();
        assert!(err.contains("10.0.0.0/8"), "{err}");
        assert!(Cidr::parse("fd00::1/64").is_err());
    }

    #[test]
    fn malformed_networks_are_rejected() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "::/129",
            "10.0.0/8",
            "host.example/24",
            "10.0.0.0/8/8",
            "10.0.0.0/ 8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
