//! Outbound URLs that tenants configure (their own provider endpoints today; webhooks and
//! passthrough upstreams later), and the addresses the gateway may dial for them.
//!
//! A URL is parsed once, by the same WHATWG parser and IDNA (UTS #46) mapping the connector
//! uses, and stored in that normalised form: `http://①②⑦.0.0.1/` is `http://127.0.0.1/` to the
//! connector, so it is judged as `127.0.0.1` here too. The connector checks the address it
//! actually dials again (`providers::http::connect`), so a name that resolves inside, or a row
//! stored before a rule existed, still never reaches an internal service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Why a tenant-supplied upstream URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL must be an absolute http:// or https:// URL with a host")]
    Malformed,
    #[error(
        "the URL points to a private, loopback, link-local or otherwise non-public address, which tenants may not reach"
    )]
    PrivateTarget,
}

/// IPv4 ranges that are not the public internet (RFC 6890 and its updates), as
/// (network, prefix length).
const NON_PUBLIC_V4: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8, "this network" (0.0.0.0 dials the local host)
    (0x0a00_0000, 8),  // 10.0.0.0/8, private
    (0x6440_0000, 10), // 100.64.0.0/10, carrier-grade NAT
    (0x7f00_0000, 8),  // 127.0.0.0/8, loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16, link-local (cloud metadata)
    (0xac10_0000, 12), // 172.16.0.0/12, private
    (0xc000_0000, 24), // 192.0.0.0/24, IETF protocol assignments
    (0xc000_0200, 24), // 192.0.2.0/24, documentation
    (0xc058_6300, 24), // 192.88.99.0/24, 6to4 relay anycast
    (0xc0a8_0000, 16), // 192.168.0.0/16, private
    (0xc612_0000, 15), // 198.18.0.0/15, benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24, documentation
    (0xcb00_7100, 24), // 203.0.113.0/24, documentation
    (0xe000_0000, 4),  // 224.0.0.0/4, multicast
    (0xf000_0000, 4),  // 240.0.0.0/4, reserved, and 255.255.255.255 broadcast
];

/// IPv6 ranges that are not the public internet, or that embed an IPv4 address a relay or
/// translator would dial on our behalf. IPv4-mapped addresses are judged by their IPv4 part.
const NON_PUBLIC_V6: &[(u128, u8)] = &[
    (0, 96),                                         // ::/96: ::, ::1, IPv4-compatible ::a.b.c.d
    (0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96), // 64:ff9b::/96, NAT64
    (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48), // 64:ff9b:1::/48, local NAT64
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // 100::/64, discard
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 23), // 2001::/23, IETF (Teredo among them)
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // 2001:db8::/32, documentation
    (0x2002_0000_0000_0000_0000_0000_0000_0000, 16), // 2002::/16, 6to4
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // 3fff::/20, documentation
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // fc00::/7, unique local
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // fe80::/10, link-local
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10), // fec0::/10, site-local
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // ff00::/8, multicast
];

fn in_v4(ip: Ipv4Addr, (network, len): (u32, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == network
}

fn in_v6(ip: Ipv6Addr, (network, len): (u128, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == network
}

/// Whether an address is anything but the public internet: private, loopback, link-local,
/// multicast, reserved, documentation, or a transition form (NAT64, 6to4, IPv4-mapped or
/// -compatible) that reaches IPv4 through someone else.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => NON_PUBLIC_V4.iter().any(|range| in_v4(v4, *range)),
        IpAddr::V6(v6) => {
            NON_PUBLIC_V6.iter().any(|range| in_v6(v6, *range))
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// Host names that stand for the local host or a private network whatever DNS says.
fn is_internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost"
        || [
            ".localhost",
            ".local",
            ".internal",
            ".home.arpa",
            ".localdomain",
        ]
        .iter()
        .any(|suffix| host.ends_with(suffix))
        || host == "localdomain"
        || host == "metadata"
}

/// Parses a tenant-supplied upstream URL exactly as the connector will, and answers its
/// normalised form (what must be stored and used), refusing non-public targets unless the
/// operator allows them.
///
/// Every spelling that maps to an address (full-width or circled digits, ideographic dots,
/// decimal, octal or hexadecimal forms, IPv4 inside IPv6) is judged by the address it maps to.
///
/// # Errors
/// A malformed URL (not http(s), no host, or one the parser refuses) or an internal target.
pub fn normalize_outbound_url(text: &str, allow_private: bool) -> Result<String, UrlError> {
    let trimmed = text.trim();
    if trimmed.len() != text.len() || text.chars().any(char::is_control) {
        return Err(UrlError::Malformed);
    }
    let url = Url::parse(text).map_err(|_| UrlError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Malformed);
    }
    let internal = match url.host() {
        None => return Err(UrlError::Malformed),
        Some(Host::Domain("")) => return Err(UrlError::Malformed),
        Some(Host::Domain(name)) => is_internal_name(name),
        Some(Host::Ipv4(v4)) => is_internal(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => is_internal(IpAddr::V6(v6)),
    };
    if internal && !allow_private {
        return Err(UrlError::PrivateTarget);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_internal_address_is_refused() {
        for bad in [
            // ASCII forms.
            "http://127.0.0.1/v1",
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0/",
            "http://0.0.0.0:8080/",
            "http://localhost:8080",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://printer.local/",
            "http://metadata.google.internal/",
            "https://10.1.2.3",
            "http://192.168.0.10:11434/v1",
            "http://169.254.169.254/latest/meta-data",
            "http://user@127.0.0.1/",
            "http://100.64.0.1/",
            // Unicode forms the IDNA mapping turns into addresses.
            "http://①②⑦.0.0.1:9/v1",
            "http://１２７.０.０.１/",
            "http://127。0。0。1/",
            "http://127．0．0．1/",
            "http://127｡0｡0｡1/",
            "http://⓪x7f.1/",
            "http://②①③⓪⑦⓪⑥④③③/",
            "http://ｌｏｃａｌｈｏｓｔ/",
            // Ranges that are not the public internet.
            "http://198.18.0.1/",
            "http://198.19.255.255/",
            "http://240.0.0.1/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://239.255.255.250/",
            "http://192.0.0.8/",
            // IPv6, and IPv4 inside IPv6.
            "http://[::1]:80/",
            "http://[::]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[::8.8.8.8]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b::808:808]/",
            "http://[2002:7f00:1::]/",
            "http://[2001::1]/",
            "http://[2001:db8::1]/",
        ] {
            assert_eq!(
                normalize_outbound_url(bad, false),
                Err(UrlError::PrivateTarget),
                "{bad}"
            );
        }
    }

    #[test]
    fn malformed_urls_are_refused() {
        for malformed in [
            "ftp://example.com",
            "example.com",
            "http://",
            "http:// x",
            " http://example.com",
            "http://example.com\n",
            "http://[::ffff:①②⑦.0.0.1]/",
            "http://256.0.0.1/",
            "http://exa mple.com/",
            "file:///etc/passwd",
            "http://[::1/",
        ] {
            assert_eq!(
                normalize_outbound_url(malformed, false),
                Err(UrlError::Malformed),
                "{malformed}"
            );
        }
    }

    #[test]
    fn public_urls_are_kept_in_normalised_form() {
        for (given, stored) in [
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
            (
                "https://My-Resource.openai.azure.com",
                "https://my-resource.openai.azure.com/",
            ),
            ("http://203.0.114.5/v1", "http://203.0.114.5/v1"),
            ("https://deadbeef.example/v1", "https://deadbeef.example/v1"),
            ("https://８.８.８.８/v1", "https://8.8.8.8/v1"),
            (
                "https://bücher.example/v1",
                "https://xn--bcher-kva.example/v1",
            ),
            ("http://[2606:4700::1111]/", "http://[2606:4700::1111]/"),
            (
                "https://u:p@host.example:8443/v1",
                "https://u:p@host.example:8443/v1",
            ),
        ] {
            assert_eq!(
                normalize_outbound_url(given, false).as_deref(),
                Ok(stored),
                "{given}"
            );
        }
        assert_eq!(
            normalize_outbound_url("http://①②⑦.0.0.1/", true).as_deref(),
            Ok("http://127.0.0.1/")
        );
    }

    #[test]
    fn the_address_tables_cover_their_edges() {
        let v4 = |s: &str| is_internal(s.parse().unwrap());
        assert!(v4("198.18.0.0") && v4("198.19.255.255") && !v4("198.20.0.0"));
        assert!(!v4("198.17.255.255") && !v4("8.8.8.8") && !v4("1.1.1.1"));
        assert!(v4("100.127.255.255") && !v4("100.128.0.0") && !v4("100.63.255.255"));
        assert!(v4("172.31.0.1") && !v4("172.32.0.1"));
        assert!(!v4("223.255.255.255") && v4("224.0.0.0"));
        assert!(!v4("2606:4700::1111") && v4("::ffff:10.0.0.1") && !v4("::ffff:8.8.8.8"));
        assert!(v4("2001:1ff::1") && !v4("2001:200::1"));
    }
}
