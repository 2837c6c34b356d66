//! `weft demo` end to end, three ways: pointed at a separate `weft serve`; on its own
//! embedded viewer, which stays up until Ctrl-C; and as a new user runs it, from the
//! README's first command on a machine with an empty home directory. Each run's stdout
//! and the viewer's API are checked against every tree the demo claims.
#![allow(clippy::unwrap_used, missing_docs)]

mod demo_check;

use demo_check::{Ids, check_stdout, check_viewer};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the child when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `weft` with an environment that says nothing about weft, OpenTelemetry or Logfire,
/// as on a machine where nothing was ever configured.
fn weft(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weft"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if ["OTEL_", "LOGFIRE_", "WEFT_", "XDG_"]
            .iter()
            .any(|p| key.starts_with(p))
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", home).current_dir(home);
    cmd
}

/// `weft serve` on any free ports; returns it and its banner's fields.
fn serve(args: &[&str], home: &Path) -> (Killed, String, String) {
    let mut child = weft(home)
        .arg("serve")
        .args(args)
        .args(["--grpc-port", "0", "--http-port", "0", "--ui-port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= in the banner {line:?}"))
            .to_owned()
    };
    let (http, ui) = (format!("http://{}", field("otlp_http")), field("ui"));
    (Killed(child), http, ui)
}

/// The banner's `key=value`, and the `open <url> …` line's URL.
fn banner_field(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("weft listening "))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{key}=")))
        })
        .unwrap_or_else(|| panic!("no banner with {key}= in:\n{stdout}"))
        .to_owned()
}

fn open_url(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("open ")?
                .strip_suffix(" to browse these traces")
        })
        .unwrap_or_else(|| panic!("no \"open <url>\" line in:\n{stdout}"))
        .to_owned()
}

#[test]
fn the_demo_shows_every_scenario_in_a_running_viewer() {
    let home = tempfile::tempdir().unwrap();
    let (_server, http, ui) = serve(&["--memory"], home.path());
    let out = weft(home.path())
        .args(["demo", "--exit", "--otlp-url", &http, "--api-url", &ui])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = Ids::parse(&stdout);
    check_stdout(&stdout, &ids);
    check_viewer(&ui, &ids);
    assert!(
        !stdout.contains("weft listening"),
        "no viewer of its own:\n{stdout}"
    );
}

/// The README's `weft demo` without `--exit`: its own viewer, on the XDG data directory,
/// browsable until Ctrl-C, then a clean exit.
#[cfg(unix)]
#[test]
fn the_embedded_viewer_stays_up_until_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, xdg) = (tmp.path().join("home"), tmp.path().join("xdg"));
    std::fs::create_dir_all(&home).unwrap();
    let mut child = weft(&home)
        .env("XDG_DATA_HOME", &xdg)
        .args(["demo", "--any-ports"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (pid, stdout_pipe) = (child.id(), child.stdout.take().unwrap());
    let mut child = Killed(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdout = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                stdout.push_str(&line);
                stdout.push('\n');
                if line == "the viewer stays up until Ctrl-C" {
                    break;
                }
            }
            Err(e) => panic!("no \"stays up\" line ({e}); stdout so far:\n{stdout}"),
        }
    }
    let ui = banner_field(&stdout, "ui");
    assert_eq!(open_url(&stdout), ui, "the URL it tells the user to open");
    let db = xdg.join("weft").join("weft.db");
    assert_eq!(banner_field(&stdout, "data"), db.display().to_string());
    let ids = Ids::parse(&stdout);
    check_stdout(&stdout, &ids);
    // The demo's services are gone; the viewer still answers.
    check_viewer(&ui, &ids);

    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT {pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 10s after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    let mut stderr = String::new();
    use std::io::Read;
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "exit after Ctrl-C: {status}\n{stderr}");
    assert_eq!(rest, ["stopping the viewer"], "{stderr}");
    assert!(db.is_file(), "the store is on disk at {}", db.display());
    assert!(
        !home.join(".local").exists(),
        "XDG_DATA_HOME wins over HOME"
    );
}

/// A new user's first command on an empty machine. What it does not cover: a real
/// fresh clone and build (that is the README's own `cargo run`, which this test is
/// built by), and the fixed ports 4317-4319 (taken by other tests here; `--any-ports`
/// is the same code path with port 0).
#[test]
fn the_readme_first_command_works_on_an_empty_home() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut lines = readme.lines();
    assert_eq!(lines.next(), Some("# weft"));
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("```sh"), "the two commands come first");
    let commands: Vec<&str> = lines
        .by_ref()
        .take(3)
        .map(|l| l.split_once(" #").map_or(l, |(c, _)| c).trim_end())
        .collect();
    assert_eq!(
        commands,
        ["cargo run -p weft-cli -- demo", "./scripts/test.sh", "```"],
        "the README's two commands, and nothing else in that block"
    );
    // `cargo run -p weft-cli` needs exactly one binary in the package: `weft`.
    let manifest = std::fs::read_to_string(root.join("crates/weft-cli/Cargo.toml")).unwrap();
    assert_eq!(manifest.matches("[[bin]]").count(), 1, "one binary");
    assert!(!root.join("crates/weft-cli/src/bin").exists(), "one binary");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join("scripts/test.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "scripts/test.sh is executable");
    }

    // The demo on a home directory with nothing in it: the data directory is created.
    let home = tempfile::tempdir().unwrap();
    let out = weft(home.path())
        .args(["demo", "--exit", "--any-ports"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data_dir = home.path().join(".local/share/weft");
    assert_eq!(
        banner_field(&stdout, "data"),
        data_dir.join("weft.db").display().to_string()
    );
    let ui = banner_field(&stdout, "ui");
    assert_eq!(open_url(&stdout), ui);
    assert!(!stdout.contains("the viewer stays up"), "--exit: {stdout}");
    let ids = Ids::parse(&stdout);
    check_stdout(&stdout, &ids);

    // `--exit` stopped the embedded viewer; what it stored is what a later `weft serve`
    // shows from the same default directory.
    let data = data_dir.display().to_string();
    let (_server, _, ui) = serve(&["--data-dir", &data], home.path());
    check_viewer(&ui, &ids);
}

/// The README's quick start is the example file (without its header comment), so the
/// code a newcomer copies is the code `cargo run --example` runs and the README doctest
/// (`ReadmeDoctests` in the `weft` crate) compiles.
#[test]
fn the_readme_quick_start_is_the_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example =
        std::fs::read_to_string(root.join("crates/weft/examples/manual_propagation.rs")).unwrap();
    let start = readme.find("```rust").expect("a Rust block in the README");
    let code = &readme[start..];
    let code = &code[code.find('\n').unwrap() + 1..];
    let code = &code[..code.find("```").unwrap()];
    let body = example
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    assert_eq!(code, body, "README quick start vs the example");
    assert!(
        readme.contains("(crates/weft/examples/manual_propagation.rs)"),
        "the README names the file"
    );
}
