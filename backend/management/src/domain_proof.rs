//! Reading the TXT records that prove a partner controls a domain, over DNS.
//!
//! The lookup is a port ([`TxtLookup`]) so the rules in `partners` can be tested without a
//! network; [`DnsTxtLookup`] is the real one (hickory's stub resolver). Its nameserver is
//! configurable (`partners.dns_resolver`) so an installation can ask a resolver it trusts
//! and tests can answer from a fake server; by default it asks the system's.

use std::net::SocketAddr;

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
}

impl DnsTxtLookup {
    pub fn new(nameserver: Option<SocketAddr>) -> Self {
        DnsTxtLookup { nameserver }
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
