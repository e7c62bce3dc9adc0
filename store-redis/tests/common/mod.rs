//! A private `redis-server` for the tests.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use store_redis::RedisQueue;

/// A `redis-server` that keeps nothing on disk, stopped when dropped.
pub struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    /// Starts one on a free port. A port found free may be taken by another test's server
    /// before this one binds it (this one then exits, and connecting would reach the other,
    /// which goes when its test ends): the server that answers must say it is this one's
    /// process, or another port is tried, a few times.
    pub fn start() -> Option<Self> {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let redis = Self::spawn(port)?;
            let deadline = Instant::now() + Duration::from_secs(10);
            let answered = loop {
                if let Some(pid) = server_pid(port) {
                    break pid;
                }
                assert!(Instant::now() < deadline, "redis-server did not start");
                std::thread::sleep(Duration::from_millis(20));
            };
            if answered == redis.child.id() {
                return Some(redis);
            }
        }
        panic!("redis-server found no free port in five tries");
    }

    /// `redis-server` on `port`; `None` (a visible skip) where it is not installed.
    fn spawn(port: u16) -> Option<Self> {
        let child = match Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                // CI installs redis-server: missing there, it is a failure; elsewhere a
                // visible skip.
                assert!(std::env::var_os("CI").is_none(), "redis-server: {error}");
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: cannot start redis-server ({error}); apt-get install redis-server"
                );
                return None;
            }
        };
        let url = format!("redis://127.0.0.1:{port}/");
        Some(Redis { child, url })
    }

    pub fn node(&self, name: &str) -> RedisQueue {
        RedisQueue::new(&self.url, None, name).expect("queue")
    }
}

/// The process id of the redis-server answering on `port` (`INFO server`), once it does.
fn server_pid(port: u16) -> Option<u32> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded: the answer is a few KiB; stop once its pid line is in.
    for _ in 0..64 {
        let n = std::io::Read::read(&mut stream, &mut buf).ok()?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some(pid) = text
            .lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .filter(|_| text.contains("\r\nrun_id:"))
        {
            return pid.trim().parse().ok();
        }
    }
    None
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
