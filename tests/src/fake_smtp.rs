//! A fake SMTP relay over real TCP: speaks enough of RFC 5321 for a client to hand over mail,
//! keeps what it received, and can refuse recipients.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A running fake relay.
#[derive(Clone)]
pub struct FakeSmtp {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    refuse: Arc<Mutex<bool>>,
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let smtp = FakeSmtp {
            port,
            received: Arc::default(),
            refuse: Arc::default(),
        };
        let server = smtp.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(server.clone().session(socket));
            }
        });
        smtp
    }

    /// From now on, refuse every recipient (a relay that is down or rejects us).
    pub fn refuse(&self, refuse: bool) {
        *self.refuse.lock().unwrap() = refuse;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn session(self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 fake-smtp ready\r\n").await;
        let mut current = Received {
            from: String::new(),
            to: Vec::new(),
            data: String::new(),
        };
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-fake-smtp\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                current.from = line[10..].trim().to_owned();
                b"250 ok\r\n"
            } else if upper.starts_with("RCPT TO:") {
                if *self.refuse.lock().unwrap() {
                    b"550 no such user here\r\n"
                } else {
                    current.to.push(line[8..].trim().to_owned());
                    b"250 ok\r\n"
                }
            } else if upper == "DATA" {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(&line);
                    data.push('\n');
                }
                current.data = data;
                self.received.lock().unwrap().push(current.clone());
                b"250 queued\r\n"
            } else if upper == "QUIT" {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else if upper == "RSET" || upper == "NOOP" {
                b"250 ok\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}
