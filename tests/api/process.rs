//! `bulletin serve` as a separate process, for tests that need its own file
//! descriptors, memory figures or signals.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::helpers::TestApp;

/// Killed when dropped, so a failing test leaves no server behind.
pub struct ServerProcess {
    pub child: Child,
    /// `127.0.0.1:port`
    pub bind: String,
}

impl ServerProcess {
    /// `bulletin serve --no-worker` on a free port, configured like `app`
    /// plus `extra`; returns once it logs that it is serving.
    pub fn start(app: &TestApp, extra: &[(&str, &str)]) -> ServerProcess {
        Self::start_with(&app.vars, extra)
    }

    pub fn start_with(vars: &HashMap<String, String>, extra: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bind = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_bulletin"))
            .args(["serve", "--no-worker"])
            .env_clear()
            .envs(vars)
            .envs(extra.iter().copied())
            .env("BIND_ADDR", &bind)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut log = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("bulletin is serving") {
            line.clear();
            assert!(log.read_line(&mut line).unwrap() > 0, "serve exited before listening");
        }
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        ServerProcess { child, bind }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.bind)
    }

    /// Resident memory, from `/proc` (Linux).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Open file descriptors, from `/proc` (Linux).
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).unwrap().count()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
