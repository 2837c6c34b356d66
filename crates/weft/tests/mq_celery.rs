//! Celery interop against a real RabbitMQ node and real Python Celery (5.7, with
//! opentelemetry-instrumentation-celery): a weft producer's task runs in a Python
//! worker as a child of the weft span, and a Python `apply_async` consumed by weft
//! joins the Python trace. Whole trees across both processes, rebuilt from parent ids.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "celery/brokers.rs"]
mod brokers;
#[path = "celery/otlp.rs"]
mod otlp;
#[path = "celery/tree.rs"]
mod tree;

use lapin::options::BasicGetOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use weft::export::memory::MemoryExporter;
use weft::messaging::amqp::celery::{self, Task};
use weft::opentelemetry::context::FutureExt as _;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn local() -> (weft::Weft, MemoryExporter) {
    weft::propagation::set_policy(weft::DistributedTracing::Allow);
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .exporter(memory.clone())
        .finish()
        .unwrap();
    (weft, memory)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python_bin(name: &str) -> PathBuf {
    let bin = repo().join(".venv/bin").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/setup-python.sh (installs tests/python/requirements.txt into .venv)",
        bin.display()
    );
    bin
}

fn python_command(
    program: &str,
    receiver: &otlp::Receiver,
    queue: &str,
    service: &str,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(python_bin(program));
    command
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/celery"))
        .env("PYTHONPATH", ".")
        .env("WEFT_TEST_AMQP_URL", brokers::amqp_url(brokers::rabbitmq()))
        .env("WEFT_TEST_OTLP", &receiver.url)
        .env("WEFT_TEST_QUEUE", queue)
        .env("OTEL_SERVICE_NAME", service)
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    command
}

async fn channel() -> (Connection, Channel) {
    let url = brokers::amqp_url(brokers::rabbitmq());
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    (conn, channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weft_task_runs_in_a_python_worker_as_a_child() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local();
    let receiver = otlp::start().await;
    let queue = "weft-celery-to-python";
    let (_conn, channel) = channel().await;
    celery::declare_queue(&channel, queue).await.unwrap();
    let task = Task::new("tasks.add")
        .args(vec![2.into(), 3.into()])
        .queue(queue);
    async {
        let root = weft::span!("weft checkout");
        celery::send_task(&channel, &task)
            .with_context(root.context())
            .await
            .unwrap();
    }
    .with_context(weft.context())
    .await;
    let mut worker = python_command("celery", &receiver, queue, "celery-worker")
        .args([
            "-A",
            "tasks",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ])
        .args(["-Q", queue, "-l", "warning"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = tokio::time::timeout(
        Duration::from_secs(60),
        receiver.wait_for("run/tasks.add", Duration::from_secs(60)),
    )
    .await;
    let _ = worker.start_kill();
    if waited.is_err() {
        let out = worker.wait_with_output().await.unwrap();
        panic!(
            "the worker ran nothing:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = worker.wait().await;
    assert!(weft.force_flush());
    let mut nodes = tree::from_weft(&memory.spans(), "weft", &[]);
    nodes.extend(receiver.nodes.lock().unwrap().iter().cloned());
    assert_eq!(tree::trace_count(&nodes), 1, "one trace: {nodes:#?}");
    insta::assert_snapshot!(tree::render(&nodes), @r"
    trace
      weft checkout [internal weft]
        apply_async/tasks.add [producer weft]
          run/tasks.add [consumer celery-worker]
            adding [internal celery-worker]
    ");
    let producer = memory
        .spans()
        .into_iter()
        .find(|s| s.name == "apply_async/tasks.add")
        .unwrap();
    assert_eq!(
        producer
            .attribute("messaging.message.id")
            .map(ToString::to_string)
            .as_deref(),
        Some(task.task_id())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_apply_async_consumed_by_weft_joins_its_trace() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local();
    let receiver = otlp::start().await;
    let queue = "weft-celery-from-python";
    let (_conn, channel) = channel().await;
    celery::declare_queue(&channel, queue).await.unwrap();
    let out = python_command("python", &receiver, queue, "celery-producer")
        .arg("tasks.py")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "producer failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut delivery = None;
    for _ in 0..100 {
        if let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            delivery = Some(message.delivery);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivery = delivery.expect("the Python task reached the queue");
    async {
        let (received, task) = celery::receive(&delivery, queue);
        let task = task.unwrap();
        assert_eq!(
            (task.name.as_str(), task.args.clone()),
            ("tasks.add", vec![2.into(), 3.into()])
        );
        received.in_scope(|| weft::info!("weft ran {name}", name = task.name.clone()));
        received.ack().await.unwrap();
    }
    .with_context(weft.context())
    .await;
    assert!(weft.force_flush());
    let mut nodes = receiver
        .wait_for("apply_async/tasks.add", Duration::from_secs(10))
        .await;
    nodes.extend(tree::from_weft(&memory.spans(), "weft", &[]));
    assert_eq!(tree::trace_count(&nodes), 1, "one trace: {nodes:#?}");
    insta::assert_snapshot!(tree::render(&nodes), @r"
    trace
      python checkout [internal celery-producer]
        apply_async/tasks.add [producer celery-producer]
          run/tasks.add [consumer weft]
            weft ran tasks.add [log weft]
    ");
}
