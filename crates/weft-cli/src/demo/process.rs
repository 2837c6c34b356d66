//! The demo's service processes: start one, learn its port, stop it and collect what
//! it wrote on stderr.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A service process. Closing its stdin asks it to stop: it then flushes its spans to
/// the viewer and exits. Dropping it does the same (so an early error never leaves
/// services behind); [`Service::stop`] also returns its stderr.
pub(super) struct Service {
    pub(super) name: String,
    pub(super) url: String,
    child: Child,
    stdin: Option<ChildStdin>,
    /// Reads the child's stderr when the demo captures it (edge services), so their
    /// warnings are shown under the request that caused them instead of interleaved.
    stderr: Option<JoinHandle<Vec<String>>>,
}

/// How long a service gets to flush and exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

impl Service {
    /// Starts `weft demo-service <role>` from this same executable and waits for its
    /// `PORT <n>` line. `policy` is `LOGFIRE_DISTRIBUTED_TRACING` ("" = unset).
    pub(super) fn start(
        role: &str,
        name: &str,
        otlp: &str,
        policy: &str,
        extra: &[&str],
        capture_stderr: bool,
    ) -> Result<Service, String> {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["demo-service", role, "--name", name, "--otlp-url", otlp])
            .args(extra);
        cmd.env_remove("LOGFIRE_DISTRIBUTED_TRACING");
        if !policy.is_empty() {
            cmd.env("LOGFIRE_DISTRIBUTED_TRACING", policy);
        }
        if capture_stderr {
            cmd.stderr(Stdio::piped());
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {name} service: {e}"))?;
        let stderr = child.stderr.take().map(|pipe| {
            std::thread::spawn(move || {
                BufReader::new(pipe)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
            })
        });
        let mut service = Service {
            name: name.to_owned(),
            url: String::new(),
            stdin: child.stdin.take(),
            stderr,
            child,
        };
        let stdout = service
            .child
            .stdout
            .take()
            .ok_or("no stdout from a service")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("{name} did not start: {e}"))?;
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| {
                format!("{name} did not say which port it listens on (it said {line:?})")
            })?;
        service.url = format!("http://127.0.0.1:{port}");
        Ok(service)
    }

    /// Stops the service and waits until it has flushed and exited; returns the lines
    /// it wrote on stderr (empty unless captured).
    pub(super) fn stop(mut self) -> Result<Vec<String>, String> {
        let exited = self.wait_for_exit();
        let stderr = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        match exited {
            Some(status) if status.success() => Ok(stderr),
            Some(status) => Err(format!(
                "the {} service exited with {status}: {}",
                self.name,
                stderr.join("\n")
            )),
            None => Err(format!(
                "the {} service did not exit within {}s of being asked to, so it was killed \
                 and its last spans may be missing",
                self.name,
                STOP_GRACE.as_secs()
            )),
        }
    }

    /// Closes stdin and waits; kills the child after [`STOP_GRACE`] (then `None`).
    fn wait_for_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.stdin.take();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.wait_for_exit();
        }
    }
}
