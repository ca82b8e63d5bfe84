//! A TCP relay that can be cut, to stand between the gateway and a service it depends on: once
//! cut, it drops every relayed connection and accepts new ones without ever answering, as a
//! partitioned network or a hung server does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The relay; dropping it stops accepting.
#[derive(Debug)]
pub struct TcpRelay {
    /// Where clients connect instead of the service.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct State {
    cut: bool,
    /// The copy tasks of relayed connections, aborted (closing both ends) by `cut`.
    relayed: Vec<JoinHandle<()>>,
    /// Connections accepted after the cut, held open and never read.
    held: Vec<TcpStream>,
}

impl TcpRelay {
    /// Relays connections to `upstream` until [`TcpRelay::cut`].
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = shared.lock().unwrap();
                if state.cut {
                    state.held.push(client);
                    continue;
                }
                state.relayed.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        TcpRelay {
            addr,
            state,
            accept,
        }
    }

    /// Ends every relayed connection; new ones hang.
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut = true;
        for task in state.relayed.drain(..) {
            task.abort();
        }
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
