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
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
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
        let redis = Redis { child, url };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    pub fn node(&self, name: &str) -> RedisQueue {
        RedisQueue::new(&self.url, None, name).expect("queue")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
