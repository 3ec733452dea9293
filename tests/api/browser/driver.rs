//! One chromedriver per browser session, on a free port, in its own process
//! group so that dropping it ends the driver and every Chromium it started,
//! even when a test panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use std::os::unix::process::CommandExt;

const INSTALL: &str = "The browser tests drive Chromium over WebDriver. Install both with \
    `apt-get install -y chromium chromium-driver` (Debian; .ci/run does this), or point \
    CHROMEDRIVER and CHROMIUM at the binaries.";

/// Where the binaries are: `CHROMEDRIVER` / `CHROMIUM`, else Debian's paths.
pub struct Binaries {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl Binaries {
    /// Panics with the install instructions when either is missing: the
    /// browser tests fail rather than pass without a browser.
    pub fn find() -> Binaries {
        let path =
            |var: &str, default: &str| std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
        let binaries = Binaries {
            chromedriver: path("CHROMEDRIVER", "/usr/bin/chromedriver"),
            chromium: path("CHROMIUM", "/usr/bin/chromium"),
        };
        for binary in [&binaries.chromedriver, &binaries.chromium] {
            assert!(binary.is_file(), "{} is missing. {INSTALL}", binary.display());
        }
        binaries
    }
}

pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub async fn start(chromedriver: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}. {INSTALL}", chromedriver.display()));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        driver.wait_until_listening(port).await;
        driver
    }

    /// chromedriver binds its port a moment after it starts; there is no
    /// event to await, so the connection is retried.
    async fn wait_until_listening(&self, port: u16) {
        let listening = tokio::time::timeout(Duration::from_secs(20), async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(listening.is_ok(), "chromedriver did not listen on port {port} within 20 s");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = i32::try_from(self.child.id()).expect("a pid fits in i32");
        // SAFETY: kill(2) with a negative pid signals the process group we
        // created for this chromedriver; it touches no memory.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a bound address").port()
}
