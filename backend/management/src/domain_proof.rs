//! Reading the TXT records that prove a partner controls a domain, over DNS.
//!
//! The lookup is a port ([`TxtLookup`]) so the rules in `partners` can be tested without a
//! network; [`DnsTxtLookup`] is the real one (hickory's stub resolver). Its nameserver is
//! configurable (`partners.dns_resolver`) so an installation can ask a resolver it trusts
//! and tests can answer from a fake server; by default it asks the system's.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};

/// Why no TXT strings could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The name does not exist or has no TXT record: the proof is not published (yet).
    #[error("no TXT record was found")]
    NoRecords,
    /// The resolver failed or timed out; trying again later may work.
    #[error("the DNS lookup failed: {0}")]
    Failed(String),
}

/// Reads TXT records.
#[async_trait]
pub trait TxtLookup: Send + Sync + std::fmt::Debug {
    /// The strings of every TXT record at `name` (each record's strings joined, as RFC 7208
    /// reads them).
    ///
    /// # Errors
    /// [`LookupError::NoRecords`] when there is none, [`LookupError::Failed`] otherwise.
    async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError>;
}

/// TXT lookups through hickory's resolver.
#[derive(Debug, Clone)]
pub struct DnsTxtLookup {
    /// `None`: the system's nameservers (`/etc/resolv.conf`).
    nameserver: Option<SocketAddr>,
    /// Per query and attempt; a person waits for the answer, so it is short.
    timeout: Duration,
}

/// Two attempts of this each: the Verify button answers within seconds even when a zone's
/// servers do not.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

impl DnsTxtLookup {
    pub fn new(nameserver: Option<SocketAddr>) -> Self {
        DnsTxtLookup {
            nameserver,
            timeout: QUERY_TIMEOUT,
        }
    }

    /// A fresh resolver per check: it caches nothing, so a record published a moment ago
    /// (after a failed check cached its absence) is seen on the next try.
    fn resolver(&self) -> Result<TokioResolver, LookupError> {
        let failed = |e: hickory_resolver::net::NetError| LookupError::Failed(e.to_string());
        let builder = match self.nameserver {
            None => Resolver::builder_tokio().map_err(failed)?,
            Some(address) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = address.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = address.port();
                let server = NameServerConfig::new(address.ip(), true, vec![udp, tcp]);
                Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    Default::default(),
                )
            }
        };
        let mut builder = builder;
        let options = builder.options_mut();
        options.timeout = self.timeout;
        options.attempts = 2;
        builder.build().map_err(failed)
    }
}

#[async_trait]
impl TxtLookup for DnsTxtLookup {
    async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        // Fully qualified: no search domain of the gateway's host is ever appended.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let answer = self
            .resolver()?
            .txt_lookup(fqdn.as_str())
            .await
            .map_err(|e| {
                if e.is_no_records_found() || e.is_nx_domain() {
                    LookupError::NoRecords
                } else {
                    LookupError::Failed(e.to_string())
                }
            })?;
        let found: Vec<String> = answer
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|it| String::from_utf8_lossy(it))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect();
        if found.is_empty() {
            Err(LookupError::NoRecords)
        } else {
            Ok(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_nameserver_that_does_not_answer_is_a_failed_lookup_not_a_missing_record() {
        // Bound and never read: queries go unanswered.
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let lookup = DnsTxtLookup {
            nameserver: Some(silent.local_addr().unwrap()),
            timeout: Duration::from_millis(100),
        };
        let started = std::time::Instant::now();
        let found = lookup.txt("_domain-verification.ai.partner.example").await;
        assert!(matches!(found, Err(LookupError::Failed(_))), "{found:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the timeout"
        );
    }
}
