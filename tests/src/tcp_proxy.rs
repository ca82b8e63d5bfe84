//! A TCP proxy in front of a real server (Postgres) that a test can turn into a black hole:
//! connections are accepted and held, and nothing passes either way, which is what a database
//! behind a dead network path looks like to its clients (worse than a refused connection:
//! every query hangs).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy.
#[derive(Debug)]
pub struct TcpProxy {
    pub addr: SocketAddr,
    open: watch::Sender<bool>,
}

impl TcpProxy {
    /// Forwards connections on a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (open, watching) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, target, watching.clone()));
            }
        });
        TcpProxy { addr, open }
    }

    /// A proxy in front of the database at `url`, and the URL that reaches it through the
    /// proxy.
    pub async fn in_front_of(url: &str) -> (TcpProxy, String) {
        let mut url = reqwest::Url::parse(url).unwrap();
        let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let target = tokio::net::lookup_host(target)
            .await
            .unwrap()
            .next()
            .unwrap();
        let proxy = TcpProxy::start(target).await;
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.addr.port())).unwrap();
        (proxy, url.to_string())
    }

    /// Stops passing anything: held connections go silent, new ones are accepted and held.
    pub fn black_hole(&self) {
        self.open.send_replace(false);
    }

    /// Passes traffic again for new connections; the silent ones are closed.
    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}

async fn serve(mut client: TcpStream, target: SocketAddr, mut open: watch::Receiver<bool>) {
    let held = !*open.borrow_and_update();
    if held {
        // Held silently until the path comes back, then dropped.
        let _ = open.wait_for(|it| *it).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = from_client.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if to_server.write_all(&up[..n]).await.is_err() { return },
            },
            read = from_server.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if to_client.write_all(&down[..n]).await.is_err() { return },
            },
            changed = open.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*open.borrow_and_update() {
                    break;
                }
            }
        }
    }
    // Silent from now on; dropped when the path comes back.
    let _ = open.wait_for(|it| *it).await.map(|_| ());
}
