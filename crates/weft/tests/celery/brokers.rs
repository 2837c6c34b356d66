//! Real brokers for the messaging tests: RabbitMQ and NATS servers started on free
//! loopback ports with their own data directories, one per test binary, stopped when
//! the test process exits (a watchdog kills the process group) or the guard drops.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SETUP: &str = "scripts/setup-brokers.sh";

/// A broker process group; killed on drop.
#[derive(Debug)]
pub struct Broker {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn find_binary(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weft-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// Kills `pgid` and removes `dir` once this test process has exited, even if statics
/// never drop. (`sh` is dash on Debian: its `kill` takes no `--`.)
fn watchdog(pgid: u32, dir: &Path) {
    let script = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -KILL -{pgid} 2>/dev/null; sleep 1; rm -rf '{}'",
        std::process::id(),
        dir.display()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn wait_for_port(port: u16, within: Duration, what: &str, log: &Path) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let tail = std::fs::read_to_string(log).unwrap_or_default();
    panic!(
        "{what} did not accept connections on 127.0.0.1:{port} within {within:?}; its output:\n{tail}"
    );
}

fn spawn(mut command: Command, dir: &Path) -> Child {
    let log = dir.join("out.log");
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).expect("a log file");
    let err = out.try_clone().expect("a log file");
    command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let child = command.spawn().expect("the broker starts");
    watchdog(child.id(), dir);
    child
}

/// Starts a RabbitMQ node on a free port; fails naming the setup script if it is not installed.
pub fn start_rabbitmq() -> Broker {
    let Some(server) = find_binary(&[
        "/usr/lib/rabbitmq/bin/rabbitmq-server",
        "/usr/sbin/rabbitmq-server",
    ]) else {
        panic!(
            "rabbitmq-server is not installed: run {SETUP} (installs Debian's rabbitmq-server and nats-server)"
        );
    };
    let port = free_port();
    let dist = free_port();
    let dir = temp_dir("rabbitmq");
    std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("enabled_plugins");
    let mut command = Command::new(server);
    command
        .current_dir(&dir)
        .env("HOME", &dir)
        .env("RABBITMQ_NODE_PORT", port.to_string())
        .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_DIST_PORT", dist.to_string())
        .env("RABBITMQ_NODENAME", format!("weft-test-{port}@localhost"))
        .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", dir.join("log"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
        .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq"))
        .env("RABBITMQ_PID_FILE", dir.join("pid"))
        .env("RABBITMQ_LOGS", "-");
    let child = spawn(command, &dir);
    let log = dir.join("out.log");
    let broker = Broker { child, port, dir };
    wait_for_port(port, Duration::from_secs(90), "rabbitmq-server", &log);
    broker
}

/// Starts a NATS server on a free port; fails naming the setup script if it is not installed.
pub fn start_nats() -> Broker {
    let Some(server) = find_binary(&[
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]) else {
        panic!(
            "nats-server is not installed: run {SETUP} (installs Debian's rabbitmq-server and nats-server)"
        );
    };
    let port = free_port();
    let dir = temp_dir("nats");
    let mut command = Command::new(server);
    command
        .current_dir(&dir)
        .args(["-p", &port.to_string(), "-a", "127.0.0.1"]);
    let child = spawn(command, &dir);
    let log = dir.join("out.log");
    let broker = Broker { child, port, dir };
    wait_for_port(port, Duration::from_secs(20), "nats-server", &log);
    broker
}

/// The RabbitMQ node shared by every test of this binary.
pub fn rabbitmq() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(start_rabbitmq)
}

/// The NATS server shared by every test of this binary.
pub fn nats() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(start_nats)
}

/// `amqp://` URL of a broker.
pub fn amqp_url(broker: &Broker) -> String {
    format!("amqp://guest:guest@127.0.0.1:{}/%2f", broker.port)
}
