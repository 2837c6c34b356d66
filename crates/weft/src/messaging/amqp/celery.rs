//! Celery's message protocol v2 over AMQP, so a Rust service and Python Celery share
//! one trace: [`send_task`] enqueues a task for a Celery worker, [`receive`] runs one
//! a Celery producer sent.
//!
//! The trace context travels as top-level message headers (`traceparent`,
//! `tracestate`, `baggage`), beside Celery's own, which is where
//! `opentelemetry-instrumentation-celery` (and so `logfire.instrument_celery()`) puts
//! and reads it. The subset weft speaks is listed in `docs/messaging.md`: JSON bodies
//! only, no results, no canvas (chains, groups, chords), no ETA or expiry.
//!
//! ```no_run
//! use weft::messaging::amqp::celery::{self, Task};
//!
//! # async fn run(channel: lapin::Channel) -> Result<(), Box<dyn std::error::Error>> {
//! celery::declare_queue(&channel, celery::DEFAULT_QUEUE).await?;
//! let task = Task::new("tasks.add").args(vec![2.into(), 3.into()]);
//! celery::send_task(&channel, &task).await?;
//! # Ok(()) }
//! ```

use super::consume::{Received, received};
use super::headers::string_header;
use super::message_id::random_uuid;
use super::{PublishError, SYSTEM, send, short};
use crate::messaging::span::{Operation, base_attributes, start};
use lapin::PublisherConfirm;
use lapin::message::Delivery;
use lapin::options::{
    BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString};
use lapin::{BasicProperties, Channel, ExchangeKind};
use opentelemetry::trace::SpanKind;
use serde_json::{Map, Value, json};

/// Celery's default queue, exchange and routing key.
pub const DEFAULT_QUEUE: &str = "celery";
/// The content type weft sends and reads.
pub const CONTENT_TYPE: &str = "application/json";

/// A task to enqueue for a Celery worker.
#[derive(Debug, Clone)]
pub struct Task {
    name: String,
    id: String,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    exchange: String,
    routing_key: String,
    root_id: Option<String>,
    parent_id: Option<String>,
}

impl Task {
    /// A task by its registered name (`proj.tasks.add`), with a new random id, for
    /// Celery's default queue.
    pub fn new(name: impl Into<String>) -> Task {
        Task {
            name: name.into(),
            id: random_uuid(),
            args: Vec::new(),
            kwargs: Map::new(),
            exchange: DEFAULT_QUEUE.to_owned(),
            routing_key: DEFAULT_QUEUE.to_owned(),
            root_id: None,
            parent_id: None,
        }
    }

    /// Positional arguments (JSON values).
    pub fn args(mut self, args: Vec<Value>) -> Task {
        self.args = args;
        self
    }

    /// Keyword arguments.
    pub fn kwargs(mut self, kwargs: Map<String, Value>) -> Task {
        self.kwargs = kwargs;
        self
    }

    /// Sends to another queue (a direct exchange and routing key of that name, as Celery's `queue=`).
    pub fn queue(mut self, queue: impl Into<String>) -> Task {
        let queue = queue.into();
        self.exchange.clone_from(&queue);
        self.routing_key = queue;
        self
    }

    /// Sets the task id (default: a random UUID).
    pub fn id(mut self, id: impl Into<String>) -> Task {
        self.id = id.into();
        self
    }

    /// The Celery workflow ids, when this task is sent from another task.
    pub fn parent(mut self, root_id: impl Into<String>, parent_id: impl Into<String>) -> Task {
        self.root_id = Some(root_id.into());
        self.parent_id = Some(parent_id.into());
        self
    }

    /// The task id.
    pub fn task_id(&self) -> &str {
        &self.id
    }

    /// Protocol v2 headers, without the trace context (added on send).
    pub fn headers(&self) -> FieldTable {
        let text = |s: &str| AMQPValue::LongString(LongString::from(s));
        let or_void = |s: &Option<String>| s.as_deref().map_or(AMQPValue::Void, text);
        let mut h = FieldTable::default();
        let args = Value::Array(self.args.clone()).to_string();
        let kwargs = Value::Object(self.kwargs.clone()).to_string();
        h.insert("lang".into(), text("py"));
        h.insert("task".into(), text(&self.name));
        h.insert("id".into(), text(&self.id));
        h.insert("shadow".into(), AMQPValue::Void);
        h.insert("eta".into(), AMQPValue::Void);
        h.insert("expires".into(), AMQPValue::Void);
        h.insert("group".into(), AMQPValue::Void);
        h.insert("group_index".into(), AMQPValue::Void);
        h.insert("retries".into(), AMQPValue::LongLongInt(0));
        h.insert(
            "timelimit".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::Void, AMQPValue::Void])),
        );
        h.insert(
            "root_id".into(),
            text(self.root_id.as_deref().unwrap_or(&self.id)),
        );
        h.insert("parent_id".into(), or_void(&self.parent_id));
        h.insert("argsrepr".into(), text(&args));
        h.insert("kwargsrepr".into(), text(&kwargs));
        h.insert("origin".into(), text(&origin()));
        h.insert("ignore_result".into(), AMQPValue::Boolean(false));
        h.insert("replaced_task_nesting".into(), AMQPValue::LongLongInt(0));
        h.insert("stamped_headers".into(), AMQPValue::Void);
        h.insert(
            "stamps".into(),
            AMQPValue::FieldTable(FieldTable::default()),
        );
        h
    }

    /// The protocol v2 body: `[args, kwargs, embed]` as JSON.
    pub fn body(&self) -> Result<Vec<u8>, serde_json::Error> {
        let embed = json!({"callbacks": null, "errbacks": null, "chain": null, "chord": null});
        serde_json::to_vec(&json!([self.args, self.kwargs, embed]))
    }

    /// The message properties Celery sets: correlation id = task id, JSON in UTF-8,
    /// persistent, priority 0, and [`Task::headers`].
    pub fn properties(&self) -> Result<BasicProperties, PublishError> {
        Ok(BasicProperties::default()
            .with_correlation_id(short("task id", &self.id)?)
            .with_content_type(CONTENT_TYPE.into())
            .with_content_encoding("utf-8".into())
            .with_delivery_mode(2)
            .with_priority(0)
            .with_headers(self.headers()))
    }
}

/// Declares a queue as Celery (kombu) does: a durable direct exchange and a durable
/// queue of that name, bound with that name. Idempotent, and safe beside a worker.
pub async fn declare_queue(channel: &Channel, queue: &str) -> Result<(), PublishError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            short("exchange name", queue)?,
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(short("queue name", queue)?, durable, FieldTable::default())
        .await?;
    channel
        .queue_bind(
            short("queue name", queue)?,
            short("exchange name", queue)?,
            short("routing key", queue)?,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Enqueues `task` inside a PRODUCER span `apply_async/<task name>` (the name and
/// attributes Celery's own instrumentation gives), its context in the message headers.
pub async fn send_task(channel: &Channel, task: &Task) -> Result<PublisherConfirm, PublishError> {
    let mut attributes = base_attributes(SYSTEM, &task.exchange, &Operation::send("publish"));
    attributes.push((
        "messaging.rabbitmq.destination.routing_key".into(),
        task.routing_key.clone().into(),
    ));
    attributes.push(("messaging.message.id".into(), task.id.clone().into()));
    attributes.push(("celery.action".into(), "apply_async".into()));
    attributes.push(("celery.task_name".into(), task.name.clone().into()));
    let span = start(
        format!("apply_async/{}", task.name).into(),
        SpanKind::Producer,
        attributes,
        Vec::new(),
        None,
    );
    let prepared = task
        .body()
        .map_err(PublishError::from)
        .and_then(|body| Ok((body, task.properties()?)));
    let (body, properties) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            span.record_exception(&err);
            return Err(err);
        }
    };
    span.set_attribute("messaging.message.body.size", body.len() as u64);
    send(
        channel,
        &span,
        &task.exchange,
        &task.routing_key,
        BasicPublishOptions::default(),
        &body,
        properties,
    )
    .await
}

/// A task a Celery producer sent, as weft read it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IncomingTask {
    /// The task's registered name (`task` header).
    pub name: String,
    /// The task id (`id` header).
    pub id: String,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
}

/// Why a delivery is not a Celery task weft can run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeleryError {
    /// A required protocol v2 header is missing or not a string.
    #[error(
        "not a Celery protocol v2 message: header `{0}` is missing; send with task_protocol=2 (the default)"
    )]
    MissingHeader(&'static str),
    /// The body is not JSON.
    #[error(
        "Celery message content type is {0:?}; weft reads only application/json: set task_serializer='json'"
    )]
    ContentType(String),
    /// The body is not `[args, kwargs, embed]`.
    #[error("Celery message body is not [args, kwargs, embed]: {0}")]
    Body(String),
}

impl IncomingTask {
    /// Reads a protocol v2 task from a delivery.
    pub fn parse(delivery: &Delivery) -> Result<IncomingTask, CeleryError> {
        let headers = delivery.properties.headers().clone().unwrap_or_default();
        let name = string_header(&headers, "task").ok_or(CeleryError::MissingHeader("task"))?;
        let id = string_header(&headers, "id").ok_or(CeleryError::MissingHeader("id"))?;
        let content_type = delivery
            .properties
            .content_type()
            .as_ref()
            .map(|c| c.as_str().to_owned());
        if content_type.as_deref() != Some(CONTENT_TYPE) {
            return Err(CeleryError::ContentType(content_type.unwrap_or_default()));
        }
        let body: Value =
            serde_json::from_slice(&delivery.data).map_err(|e| CeleryError::Body(e.to_string()))?;
        let Value::Array(mut parts) = body else {
            return Err(CeleryError::Body("not an array".to_owned()));
        };
        if parts.len() != 3 {
            return Err(CeleryError::Body(format!(
                "{} elements, expected 3",
                parts.len()
            )));
        }
        let kwargs = match parts.swap_remove(1) {
            Value::Object(kwargs) => kwargs,
            _ => return Err(CeleryError::Body("kwargs is not an object".to_owned())),
        };
        let args = match parts.swap_remove(0) {
            Value::Array(args) => args,
            _ => return Err(CeleryError::Body("args is not an array".to_owned())),
        };
        Ok(IncomingTask {
            name,
            id,
            args,
            kwargs,
        })
    }
}

/// Starts the CONSUMER span of a Celery task delivery, named `run/<task name>` as
/// Celery's instrumentation names it (`process <queue>` when the name is missing or
/// odd), and reads the task. The span exists either way: settle the delivery.
pub fn receive<'d>(
    delivery: &'d Delivery,
    queue: &str,
) -> (Received<'d>, Result<IncomingTask, CeleryError>) {
    let task = IncomingTask::parse(delivery);
    let (name, extra) = match &task {
        Ok(task) if is_plain_name(&task.name) => (
            format!("run/{}", task.name),
            vec![
                ("celery.action".into(), "run".into()),
                ("celery.task_name".into(), task.name.clone().into()),
                ("celery.task_id".into(), task.id.clone().into()),
            ],
        ),
        _ => (format!("process {queue}"), Vec::new()),
    };
    (received(delivery, queue, name.into(), extra), task)
}

/// A task name fit for a span name: a bounded dotted identifier.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// Celery's `origin` header: who sent the task.
fn origin() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    format!("weft-{}@{host}", std::process::id())
}
