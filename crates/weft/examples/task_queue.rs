//! A producer and a worker, two processes over RabbitMQ, in one trace.
//!
//! ```sh
//! scripts/setup-brokers.sh && rabbitmq-server &   # or any broker at AMQP_URL
//! cargo run -p weft --features lapin --example task_queue
//! ```
//!
//! The producer enqueues a job inside a span, starts this same binary as the worker
//! (`task_queue worker <queue>`), and prints the tree joined from both processes'
//! spans. Without a reachable broker it exits with status 2 and says so.

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;
use weft::export::memory::MemoryExporter;
use weft::messaging::amqp;
use weft::opentelemetry::context::FutureExt as _;

type Error = Box<dyn std::error::Error>;

/// One span as `span parent name`, the line format the worker prints.
fn lines(memory: &MemoryExporter, process: &str) -> Vec<String> {
    memory
        .spans()
        .iter()
        .map(|s| {
            format!(
                "{}\t{}\t{}\t{process}",
                s.span_context.span_id(),
                s.parent_span_id,
                s.message()
            )
        })
        .collect()
}

fn print_tree(lines: &[String]) {
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split('\t').collect())
        .filter(|r: &Vec<&str>| r.len() == 4)
        .collect();
    let ids: HashMap<&str, ()> = rows.iter().map(|r| (r[0], ())).collect();
    fn walk(rows: &[Vec<&str>], parent: &str, depth: usize) {
        for row in rows.iter().filter(|r| r[1] == parent) {
            println!("{}{}  ({})", "  ".repeat(depth), row[2], row[3]);
            walk(rows, row[0], depth + 1);
        }
    }
    for root in rows.iter().filter(|r| !ids.contains_key(r[1])) {
        println!("{}  ({})", root[2], root[3]);
        walk(&rows, root[0], 1);
    }
}

async fn connect() -> Result<(Connection, Channel), ExitCode> {
    let url = std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://127.0.0.1:5672/%2f".to_owned());
    let conn = match tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect(&url, ConnectionProperties::default()),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => {
            eprintln!(
                "task_queue: no AMQP broker at {url} ({err}). Install one with scripts/setup-brokers.sh, start rabbitmq-server, or set AMQP_URL."
            );
            return Err(ExitCode::from(2));
        }
        Err(_) => {
            eprintln!(
                "task_queue: the AMQP broker at {url} did not answer within 10 s; set AMQP_URL to a running broker."
            );
            return Err(ExitCode::from(2));
        }
    };
    let channel = conn.create_channel().await.map_err(|err| {
        eprintln!("task_queue: cannot open a channel: {err}");
        ExitCode::from(2)
    })?;
    Ok((conn, channel))
}

fn local() -> Result<(weft::Weft, MemoryExporter), Error> {
    weft::propagation::set_policy(weft::DistributedTracing::Allow);
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .exporter(memory.clone())
        .finish()?;
    Ok((weft, memory))
}

async fn worker(queue: &str) -> Result<(), Error> {
    let (weft, memory) = local()?;
    let Ok((_conn, channel)) = connect().await else {
        return Err("no broker".into());
    };
    let mut delivery = None;
    for _ in 0..200 {
        if let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await?
        {
            delivery = Some(message.delivery);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivery = delivery.ok_or("no job arrived within 10 s")?;
    amqp::process(&delivery, queue, |d| async move {
        let _render = weft::span!("render report").entered();
        weft::info!("rendered {n} pages", n = d.data.len() as u64);
        Ok::<_, std::io::Error>(())
    })
    .with_context(weft.context())
    .await??;
    weft.force_flush();
    for line in lines(&memory, "worker") {
        println!("SPAN\t{line}");
    }
    Ok(())
}

async fn producer() -> Result<ExitCode, Error> {
    let (weft, memory) = local()?;
    let (_conn, channel) = match connect().await {
        Ok(pair) => pair,
        Err(code) => return Ok(code),
    };
    let queue = format!("weft-task-queue-{}", std::process::id());
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await?;
    async {
        let root = weft::span!("enqueue report");
        amqp::publish(
            &channel,
            "",
            &queue,
            BasicPublishOptions::default(),
            b"12 pages",
            BasicProperties::default(),
        )
        .with_context(root.context())
        .await
    }
    .with_context(weft.context())
    .await?;
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .args(["worker", &queue])
        .output()
        .await?;
    let _ = channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    if !out.status.success() {
        eprintln!(
            "task_queue: the worker failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Ok(ExitCode::FAILURE);
    }
    weft.force_flush();
    let mut all = lines(&memory, "producer");
    all.extend(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("SPAN\t"))
            .map(str::to_owned),
    );
    print_tree(&all);
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("worker") => match args.get(2) {
            Some(queue) => worker(queue).await.map(|()| ExitCode::SUCCESS),
            None => Err("usage: task_queue worker <queue>".into()),
        },
        _ => producer().await,
    };
    result.unwrap_or_else(|err| {
        eprintln!("task_queue: {err}");
        ExitCode::FAILURE
    })
}
