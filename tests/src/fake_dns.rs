//! A tiny authoritative DNS server over UDP on `127.0.0.1:0`, answering TXT queries from a
//! table the test fills, so domain verification is tested through real DNS packets and the
//! gateway's real resolver (`partners.dns_resolver` points at it).
//!
//! It speaks just enough of RFC 1035: one question per query, TXT answers with TTL 0 (nothing
//! is cached between a test's steps), NOERROR with no answer for other types at a known name,
//! NXDOMAIN for unknown names. Every query's name is recorded.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;

const TYPE_TXT: u16 = 16;
const CLASS_IN: u16 = 1;
const NXDOMAIN: u8 = 3;
const FORMERR: u8 = 1;

#[derive(Debug, Default)]
struct Zone {
    /// Lowercase names without the trailing dot → the strings of their TXT records.
    txt: HashMap<String, Vec<String>>,
    queried: Vec<String>,
}

/// The running server; it stops when dropped.
#[derive(Debug)]
pub struct FakeDns {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDns {
    pub async fn start() -> FakeDns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        let task = tokio::spawn(serve(socket, zone.clone()));
        FakeDns { addr, zone, task }
    }

    /// Publishes TXT records at `name` (replacing any), one per value.
    pub fn set_txt(&self, name: &str, values: &[&str]) {
        self.zone.lock().unwrap().txt.insert(
            normalize(name),
            values.iter().map(|it| (*it).to_owned()).collect(),
        );
    }

    /// The names asked for so far, lowercase, in order.
    pub fn queried(&self) -> Vec<String> {
        self.zone.lock().unwrap().queried.clone()
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

async fn serve(socket: UdpSocket, zone: Arc<Mutex<Zone>>) {
    let mut buf = [0u8; 1500];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        if let Some(reply) = answer(&buf[..n], &zone) {
            let _ = socket.send_to(&reply, from).await;
        }
    }
}

/// The reply to one query, or `None` for packets too short to answer at all.
fn answer(query: &[u8], zone: &Mutex<Zone>) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let id = &query[..2];
    let recursion_desired = query[2] & 0x01;
    let opcode = query[2] & 0x78;
    let header = |rcode: u8, answers: u16| {
        let mut res = id.to_vec();
        // QR, the query's opcode, AA, its RD; RA; the code.
        res.push(0x80 | opcode | 0x04 | recursion_desired);
        res.push(0x80 | rcode);
        res.extend_from_slice(&1u16.to_be_bytes());
        res.extend_from_slice(&answers.to_be_bytes());
        res.extend_from_slice(&[0, 0, 0, 0]);
        res
    };
    let Some((name, question_end)) = read_name(query, 12) else {
        let mut res = header(FORMERR, 0);
        res[5] = 0;
        return Some(res);
    };
    let question = query.get(12..question_end + 4)?;
    let qtype = u16::from_be_bytes([query[question_end], query[question_end + 1]]);
    let qclass = u16::from_be_bytes([query[question_end + 2], query[question_end + 3]]);
    let records = {
        let mut zone = zone.lock().unwrap();
        zone.queried.push(name.clone());
        zone.txt.get(&name).cloned()
    };
    let Some(records) = records else {
        let mut res = header(NXDOMAIN, 0);
        res.extend_from_slice(question);
        return Some(res);
    };
    let answered = if qtype == TYPE_TXT && qclass == CLASS_IN {
        records
    } else {
        Vec::new()
    };
    let mut res = header(0, u16::try_from(answered.len()).ok()?);
    res.extend_from_slice(question);
    for value in answered {
        let mut rdata = Vec::new();
        // A character-string holds at most 255 bytes; longer values are split.
        for chunk in value.as_bytes().chunks(255) {
            rdata.push(u8::try_from(chunk.len()).ok()?);
            rdata.extend_from_slice(chunk);
        }
        if value.is_empty() {
            rdata.push(0);
        }
        res.extend_from_slice(&[0xC0, 12]); // The name: a pointer to the question's.
        res.extend_from_slice(&TYPE_TXT.to_be_bytes());
        res.extend_from_slice(&CLASS_IN.to_be_bytes());
        res.extend_from_slice(&0u32.to_be_bytes()); // TTL 0: never cached.
        res.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
        res.extend_from_slice(&rdata);
    }
    Some(res)
}

/// The dotted, lowercase name starting at `at` (no compression in questions), and the offset
/// just past it.
fn read_name(packet: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*packet.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = packet.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    packet.get(at..at + 4)?;
    Some((labels.join("."), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut res = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            res.push(u8::try_from(label.len()).unwrap());
            res.extend_from_slice(label.as_bytes());
        }
        res.push(0);
        res.extend_from_slice(&qtype.to_be_bytes());
        res.extend_from_slice(&CLASS_IN.to_be_bytes());
        res
    }

    #[test]
    fn txt_queries_are_answered_from_the_table() {
        let zone = Mutex::new(Zone::default());
        zone.lock()
            .unwrap()
            .txt
            .insert("_x.example".into(), vec!["abc".into()]);
        let reply = answer(&query("_X.Example", TYPE_TXT), &zone).unwrap();
        assert_eq!(&reply[..2], &[0x12, 0x34], "the query's id");
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one answer");
        assert!(reply.ends_with(&[0, 4, 3, b'a', b'b', b'c']), "{reply:?}");
        let missing = answer(&query("_y.example", TYPE_TXT), &zone).unwrap();
        assert_eq!(missing[3] & 0x0f, NXDOMAIN);
        let other_type = answer(&query("_x.example", 1), &zone).unwrap();
        assert_eq!((other_type[3] & 0x0f, other_type[7]), (0, 0), "no A record");
        assert_eq!(zone.lock().unwrap().queried.len(), 3);
    }
}
