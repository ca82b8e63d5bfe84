//! Gateways run as real processes (the `sluice-node` binary, which is `sluice` built with the
//! test crate), for what only a process shows: a `SIGKILL`, a `SIGTERM` and the exit code it
//! leads to, a restart on the same data directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One running gateway process.
#[derive(Debug)]
pub struct Node {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    out: PathBuf,
    log: PathBuf,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl Node {
    /// Starts `bin serve` with `config` (TOML) on a free port, its data in `data_dir` and
    /// `env` on top, and waits until it answers `/healthz`.
    ///
    /// # Panics
    /// When it does not start within 60 seconds (its log is printed).
    pub async fn start(bin: &str, data_dir: &Path, config: &str, env: &[(&str, &str)]) -> Node {
        server::init_tls();
        std::fs::create_dir_all(data_dir).expect("the data directory");
        let run = uuid::Uuid::now_v7();
        let config_file = data_dir.join(format!("sluice-{run}.toml"));
        std::fs::write(&config_file, config).expect("the configuration file");
        let out = data_dir.join(format!("out-{run}.txt"));
        let log = data_dir.join(format!("log-{run}.txt"));
        let port = free_port();
        let mut command = Command::new(bin);
        command
            .args(["serve", "--config"])
            .arg(&config_file)
            .env("SLUICE_LISTEN", format!("127.0.0.1:{port}"))
            .env("SLUICE_DATA_DIR", data_dir)
            .env("SLUICE_WORKERS", "2")
            .env_remove("SLUICE_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("the output file"))
            .stderr(std::fs::File::create(&log).expect("the log file"));
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the gateway process starts");
        let node = Node {
            child,
            url: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
            out,
            log,
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(res) = client.get(format!("{}/healthz", node.url)).send().await
                && res.status().is_success()
            {
                return node;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the gateway did not start:\n{}", node.log());
    }

    /// The API key a first start printed.
    ///
    /// # Panics
    /// When it printed none.
    pub fn first_key(&self) -> String {
        let out = std::fs::read_to_string(&self.out).unwrap_or_default();
        out.split_whitespace()
            .find(|it| it.starts_with("sk-"))
            .unwrap_or_else(|| panic!("no key in the output:\n{out}\n{}", self.log()))
            .to_owned()
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `SIGTERM`, as an orchestrator does to stop a node.
    ///
    /// # Panics
    /// When `kill` cannot be run.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM was not delivered");
    }

    /// Sends `SIGKILL`: the process ends at once, with no chance to clean up.
    ///
    /// # Panics
    /// When the signal cannot be sent.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        let _ = self.child.wait();
    }

    /// Waits for the process to exit.
    ///
    /// # Panics
    /// When it is still running after `within` (it is then killed, and its log printed).
    pub async fn exit_status(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the process can be waited for")
            {
                return status;
            }
            if started.elapsed() > within {
                self.kill();
                panic!(
                    "the gateway did not exit within {within:?}:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
