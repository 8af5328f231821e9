//! A NATS server with JetStream of a test's own: started on a free
//! loopback port with its storage in a folder of the test's, so that a test
//! may stop and restart it without touching any other test's queue.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server -js` child process, killed when dropped.
#[derive(Debug)]
pub struct TestNats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl TestNats {
    /// Starts one storing its streams under `dir`; panics when
    /// `nats-server` cannot be run (a test needs it).
    pub fn start(dir: &Path) -> TestNats {
        std::fs::create_dir_all(dir).expect("the NATS folder");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
        let child = Self::spawn(dir, port);
        TestNats { child, port, dir: dir.to_owned() }
    }

    fn spawn(dir: &Path, port: u16) -> Child {
        // Debian installs it in /usr/sbin, which a user's PATH may lack.
        let program =
            if Path::new("/usr/sbin/nats-server").exists() { "/usr/sbin/nats-server" } else { "nats-server" };
        let child = Command::new(program)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (Debian's nats-server package) runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it with SIGKILL (nothing flushed on the way out).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and storage.
    pub fn start_again(&mut self) {
        self.child = Self::spawn(&self.dir, self.port);
    }

    /// Stops it, and starts it again a second later.
    pub fn restart(&mut self) {
        self.stop();
        std::thread::sleep(Duration::from_secs(1));
        self.start_again();
    }
}

impl Drop for TestNats {
    fn drop(&mut self) {
        self.stop();
    }
}
