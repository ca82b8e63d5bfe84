//! Who is on the other end of a request: the client's address, the host name it asked for and
//! the scheme it used. This is the one place that reads the peer address, `Host` and the
//! forwarded headers (`Forwarded`, `X-Forwarded-For`, `X-Forwarded-Host`,
//! `X-Forwarded-Proto`); the IP allow-list of keys, sign-in throttling, the audit trail,
//! branding by host and the token endpoint all ask it.
//!
//! Forwarded headers are believed only when the TCP peer is a configured trusted proxy: anyone
//! else could write anything there (a forged `X-Forwarded-Host` once put reset links on an
//! attacker's domain, a forged `X-Forwarded-For` would pass an IP allow-list). With no trusted
//! proxy configured (the default) they are never read, so the data plane pays one comparison.
//! actix's `connection_info()` is not used: it believes those headers from anyone.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{HOST, HeaderMap};
use ipnet::IpNet;

/// The networks whose forwarded headers are believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    /// Whether `ip` is a trusted proxy. IPv4-mapped IPv6 peers count as their IPv4 address.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// Where a request came from, as far as the gateway can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The client's address: the peer, or the first untrusted hop a trusted proxy reports.
    /// `None` only without a peer address (in-process test requests).
    pub ip: Option<IpAddr>,
    /// The host the client asked for, as sent (port included, not normalised).
    pub host: Option<&'a str>,
    /// Whether the client used HTTPS.
    pub https: bool,
}

impl Origin<'_> {
    /// The requested host, normalised (lowercase, no port), when it is a DNS name.
    pub fn host_name(&self) -> Option<String> {
        self.host.and_then(domain::partner::host_of_header)
    }
}

/// The origin of `req`, believing forwarded headers only from a trusted peer.
pub fn origin<'a>(req: &'a HttpRequest, proxies: &TrustedProxies) -> Origin<'a> {
    let peer = req.peer_addr().map(|it| it.ip());
    let direct = Origin {
        ip: peer,
        host: req
            .headers()
            .get(HOST)
            .and_then(|it| it.to_str().ok())
            .or_else(|| req.uri().authority().map(|it| it.as_str())),
        https: req.app_config().secure(),
    };
    match peer {
        // The default: no proxy is trusted, so nothing below is read.
        _ if proxies.0.is_empty() => direct,
        Some(peer) if proxies.trusts(peer) => forwarded(req.headers(), peer, proxies, direct),
        _ => direct,
    }
}

/// Only the client's address, for the data plane's IP allow-lists: without trusted proxies
/// that is the peer, read without touching any header (the hot path stays as it was).
pub fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> Option<IpAddr> {
    if proxies.0.is_empty() {
        return req.peer_addr().map(|it| it.ip());
    }
    origin(req, proxies).ip
}

/// What a trusted peer reports: `Forwarded` when it sent one, else the `X-Forwarded-*` set.
fn forwarded<'a>(
    headers: &'a HeaderMap,
    peer: IpAddr,
    proxies: &TrustedProxies,
    direct: Origin<'a>,
) -> Origin<'a> {
    let mut rfc7239 = headers
        .get_all("forwarded")
        .filter_map(|it| it.to_str().ok())
        .flat_map(split_list)
        .collect::<Vec<_>>();
    if !rfc7239.is_empty() {
        // Each proxy appends the element describing the request it received; walk back from
        // the nearest until the hop that is not ours: that element describes the client.
        let mut ip = peer;
        while let Some(element) = rfc7239.pop() {
            let pairs = Pairs::parse(element);
            match pairs.node.and_then(parse_node) {
                Some(hop) if proxies.trusts(hop) && !rfc7239.is_empty() => ip = hop,
                Some(hop) => {
                    return Origin {
                        ip: Some(hop),
                        host: pairs.host.or(direct.host),
                        https: pairs.proto.map_or(direct.https, is_https),
                    };
                }
                // `unknown` or an obfuscated name: the last address we know is a trusted hop's,
                // which no allow-list of a tenant names, so this fails closed.
                None => {
                    return Origin {
                        ip: Some(ip),
                        host: pairs.host.or(direct.host),
                        https: pairs.proto.map_or(direct.https, is_https),
                    };
                }
            }
        }
        return Origin {
            ip: Some(ip),
            ..direct
        };
    }
    let mut hops = headers
        .get_all("x-forwarded-for")
        .filter_map(|it| it.to_str().ok())
        .flat_map(split_list)
        .collect::<Vec<_>>();
    let mut ip = peer;
    while let Some(hop) = hops.pop() {
        match parse_node(hop) {
            Some(hop) if proxies.trusts(hop) && !hops.is_empty() => ip = hop,
            Some(hop) => {
                ip = hop;
                break;
            }
            None => break,
        }
    }
    // The nearest proxy's word: the last value, which a client cannot append after it.
    let last = |name: &str| {
        headers
            .get_all(name)
            .filter_map(|it| it.to_str().ok())
            .flat_map(split_list)
            .last()
    };
    Origin {
        ip: Some(ip),
        host: last("x-forwarded-host").or(direct.host),
        https: last("x-forwarded-proto").map_or(direct.https, is_https),
    }
}

fn is_https(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("https")
}

/// The comma-separated items of a header value, trimmed, commas inside quotes kept.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&value[start..]);
    items.into_iter().map(str::trim).filter(|it| !it.is_empty())
}

/// The parameters of one `Forwarded` element that matter here.
#[derive(Debug, Default)]
struct Pairs<'a> {
    node: Option<&'a str>,
    host: Option<&'a str>,
    proto: Option<&'a str>,
}

impl<'a> Pairs<'a> {
    fn parse(element: &'a str) -> Self {
        let mut res = Pairs::default();
        for pair in element.split(';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "for" => res.node = Some(value),
                "host" => res.host = Some(value),
                "proto" => res.proto = Some(value),
                _ => {}
            }
        }
        res
    }
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`,
/// `2001:db8::1`, quoted or not; `None` for `unknown` and obfuscated names.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = raw.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    raw.strip_prefix('[')
        .and_then(|it| it.strip_suffix(']'))
        .and_then(|it| it.parse::<IpAddr>().ok())
        .map(|it| it.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|it| it.parse().unwrap()).collect())
    }

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for header in headers {
            req = req.append_header(*header);
        }
        req.to_http_request()
    }

    fn check(peer: &str, trusted: &[&str], headers: &[(&str, &str)]) -> (String, String, bool) {
        let req = request(peer, headers);
        let found = origin(&req, &proxies(trusted));
        (
            found.ip.map(|it| it.to_string()).unwrap_or_default(),
            found.host.unwrap_or_default().to_owned(),
            found.https,
        )
    }

    const FORGED: [(&str, &str); 5] = [
        ("host", "gateway.example:8080"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=203.0.113.9;host=evil.example;proto=https"),
    ];

    #[test]
    fn without_trusted_proxies_forwarded_headers_are_ignored() {
        assert_eq!(
            check("198.51.100.7:5000", &[], &FORGED),
            ("198.51.100.7".into(), "gateway.example:8080".into(), false)
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_forward() {
        assert_eq!(
            check("198.51.100.7:5000", &["10.0.0.0/8"], &FORGED),
            ("198.51.100.7".into(), "gateway.example:8080".into(), false)
        );
    }

    #[test]
    fn a_trusted_proxy_reports_the_client_host_and_scheme() {
        let headers = [
            ("host", "internal:8080"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-host", "ai.partner.example"),
            ("x-forwarded-proto", "https"),
        ];
        assert_eq!(
            check("10.1.2.3:5000", &["10.0.0.0/8"], &headers),
            ("203.0.113.9".into(), "ai.partner.example".into(), true)
        );
    }

    #[test]
    fn x_forwarded_for_is_walked_from_the_right_past_trusted_hops() {
        let trusted = ["10.0.0.0/8", "127.0.0.1/32"];
        // The client wrote `1.1.1.1` itself; the edge proxy appended the real address.
        let chain = [("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")];
        assert_eq!(check("127.0.0.1:1", &trusted, &chain).0, "203.0.113.9");
        // Repeated header lines form one list.
        let lines = [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:4711, 10.0.0.5"),
        ];
        assert_eq!(check("127.0.0.1:1", &trusted, &lines).0, "203.0.113.9");
        // Only trusted hops: the leftmost is the client.
        let inside = [("x-forwarded-for", "10.0.0.7, 10.0.0.5")];
        assert_eq!(check("127.0.0.1:1", &trusted, &inside).0, "10.0.0.7");
        // Garbage stops the walk at the last trusted hop; it never lets an address through.
        let garbage = [("x-forwarded-for", "203.0.113.9, not-an-ip, 10.0.0.5")];
        assert_eq!(check("127.0.0.1:1", &trusted, &garbage).0, "10.0.0.5");
        // No header: the proxy itself.
        assert_eq!(check("127.0.0.1:1", &trusted, &[]).0, "127.0.0.1");
    }

    #[test]
    fn the_last_forwarded_host_and_proto_win() {
        let headers = [
            ("x-forwarded-host", "evil.example, ai.partner.example"),
            ("x-forwarded-proto", "https, http"),
        ];
        assert_eq!(
            check("127.0.0.1:1", &["127.0.0.1/32"], &headers),
            ("127.0.0.1".into(), "ai.partner.example".into(), false)
        );
    }

    #[test]
    fn rfc_7239_forwarded_is_preferred_and_walked_the_same_way() {
        let trusted = ["10.0.0.0/8"];
        let headers = [
            ("x-forwarded-for", "198.51.100.1"),
            (
                "forwarded",
                r#"for=1.1.1.1;host=evil.example, for="[2001:db8::17]:4711";host=ai.partner.example;proto=https"#,
            ),
            ("forwarded", "for=10.0.0.5;host=internal;proto=http"),
        ];
        assert_eq!(
            check("10.9.9.9:1", &trusted, &headers),
            ("2001:db8::17".into(), "ai.partner.example".into(), true)
        );
        let unknown = [("forwarded", "for=unknown;host=ai.partner.example")];
        assert_eq!(
            check("10.9.9.9:1", &trusted, &unknown),
            ("10.9.9.9".into(), "ai.partner.example".into(), false)
        );
        let quoted_v4 = [("forwarded", r#"For="192.0.2.60:443";Proto=HTTPS"#)];
        assert_eq!(
            check("10.9.9.9:1", &trusted, &quoted_v4),
            ("192.0.2.60".into(), String::new(), true)
        );
    }

    #[test]
    fn the_data_planes_shortcut_agrees_with_the_full_answer() {
        for trusted in [&[][..], &["127.0.0.1/32"][..]] {
            let req = request("127.0.0.1:9", &FORGED);
            assert_eq!(
                client_ip(&req, &proxies(trusted)),
                origin(&req, &proxies(trusted)).ip
            );
        }
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        assert!(proxies(&["127.0.0.1/32"]).trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!proxies(&["127.0.0.1/32"]).trusts("127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn host_names_are_normalised() {
        let req = request("10.0.0.1:1", &[("host", "AI.Partner.Example:8443")]);
        assert_eq!(
            origin(&req, &TrustedProxies::default())
                .host_name()
                .as_deref(),
            Some("ai.partner.example")
        );
    }
}
