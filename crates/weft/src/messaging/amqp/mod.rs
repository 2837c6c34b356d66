//! AMQP 0-9-1 (RabbitMQ) through `lapin`: the trace context in the message headers.
//!
//! - [`publish`]: a PRODUCER span `publish <exchange>` (`publish <routing key>` on the
//!   default exchange) around `basic.publish`, its context injected as `traceparent`,
//!   `tracestate` and `baggage` message headers (AMQP long strings).
//! - [`receive`]: per delivery, a CONSUMER span `process <queue>` whose parent is the
//!   producer's span (under the [`distributed_tracing`](crate::DistributedTracing)
//!   policy); the handler runs inside it ([`Received::in_span`]) and
//!   [`Received::ack`]/[`nack`](Received::nack)/[`reject`](Received::reject) are
//!   recorded on it. [`process`] does all of that for a handler returning `Result`.
//! - [`process_batch`]: one CONSUMER span for many deliveries, linked to each
//!   message's producer, as OpenTelemetry's messaging conventions ask for batches.
//! - [`celery`]: Celery's message protocol v2, to and from Python Celery.
//!
//! ```no_run
//! use lapin::{BasicProperties, Connection, ConnectionProperties, options::*, types::FieldTable};
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let conn = Connection::connect("amqp://127.0.0.1:5672/%2f", ConnectionProperties::default()).await?;
//! let channel = conn.create_channel().await?;
//! channel.queue_declare("jobs".into(), QueueDeclareOptions::default(), FieldTable::default()).await?;
//!
//! // Producer, inside whatever span is current.
//! weft::messaging::amqp::publish(&channel, "", "jobs", BasicPublishOptions::default(), b"hi", BasicProperties::default())
//!     .await?;
//!
//! // Consumer.
//! let mut consumer = channel
//!     .basic_consume("jobs".into(), "worker".into(), BasicConsumeOptions::default(), FieldTable::default())
//!     .await?;
//! while let Some(delivery) = consumer.next().await {
//!     let delivery = delivery?;
//!     weft::messaging::amqp::process(&delivery, "jobs", |d| async move {
//!         weft::info!("got {n} bytes", n = d.data.len() as u64);
//!         Ok::<_, std::io::Error>(())
//!     })
//!     .await?;
//! }
//! # Ok(()) }
//! ```

pub mod celery;
mod consume;
mod headers;
mod message_id;

pub use consume::{Received, SETTLEMENT_ATTRIBUTE, Settlement, process, process_batch, receive};
pub use headers::{AmqpHeaders, carrier_from_headers, headers_from_carrier};

use super::span::{Operation, base_attributes, start};
use crate::record::Attribute;
use lapin::PublisherConfirm;
use lapin::options::BasicPublishOptions;
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel};
use opentelemetry::context::FutureExt as _;

/// `messaging.system` for AMQP.
pub const SYSTEM: &str = "rabbitmq";

/// Why a message was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// An AMQP short string (exchange, routing key, header name) is over 255 bytes.
    #[error(
        "AMQP {what} is {len} bytes, over the 255 an AMQP short string holds: use a shorter {what}"
    )]
    TooLong {
        /// Which name.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The broker connection refused the publish.
    #[error("AMQP publish failed: {0}")]
    Amqp(#[from] lapin::Error),
    /// The Celery message body could not be encoded.
    #[error("Celery task body is not JSON-serialisable: {0}")]
    Body(#[from] serde_json::Error),
}

pub(crate) fn short(what: &'static str, value: &str) -> Result<ShortString, PublishError> {
    ShortString::try_new(value).map_err(|_| PublishError::TooLong {
        what,
        len: value.len(),
    })
}

/// Publishes one message inside a PRODUCER span, with the span's context in the
/// message headers (any headers already in `properties` are kept).
///
/// The span has `messaging.system = rabbitmq`, `messaging.destination.name` (the
/// exchange, `amq.default` for the default one), `messaging.operation.type = send`,
/// `messaging.operation.name = publish`, `messaging.rabbitmq.destination.routing_key`,
/// `messaging.message.body.size`, `messaging.message.id` and, when `properties` has a
/// correlation id, `messaging.message.conversation_id`. A message without a message id
/// gets a random UUID as its `message_id` property, so the consumer's span names the
/// same message and a redelivery can be told from a second publish. The returned
/// confirmation is lapin's: await it when the channel is in confirm mode.
pub async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    options: BasicPublishOptions,
    payload: &[u8],
    properties: BasicProperties,
) -> Result<PublisherConfirm, PublishError> {
    let destination = if exchange.is_empty() {
        routing_key
    } else {
        exchange
    };
    let properties = with_message_id(properties);
    let span = start(
        format!("publish {destination}").into(),
        opentelemetry::trace::SpanKind::Producer,
        publish_attributes(exchange, routing_key, payload.len(), &properties),
        Vec::new(),
        None,
    );
    send(
        channel,
        &span,
        exchange,
        routing_key,
        options,
        payload,
        properties,
    )
    .await
}

/// Publishes with `span`'s context injected; records a failure on it.
pub(crate) async fn send(
    channel: &Channel,
    span: &crate::Span,
    exchange: &str,
    routing_key: &str,
    options: BasicPublishOptions,
    payload: &[u8],
    properties: BasicProperties,
) -> Result<PublisherConfirm, PublishError> {
    let result = async {
        let exchange = short("exchange name", exchange)?;
        let routing_key = short("routing key", routing_key)?;
        let cx = span.context();
        let mut headers = properties.headers().clone().unwrap_or_default();
        super::inject_context_into(&cx, &mut AmqpHeaders(&mut headers));
        let properties = properties.with_headers(headers);
        let confirm = channel
            .basic_publish(exchange, routing_key, options, payload, properties)
            .with_context(cx)
            .await?;
        Ok(confirm)
    }
    .await;
    if let Err(err) = &result {
        span.record_exception(err);
    }
    result
}

/// `properties` with a random message id if they have none.
fn with_message_id(properties: BasicProperties) -> BasicProperties {
    if properties.message_id().is_some() {
        return properties;
    }
    // A UUID is 36 bytes, always a valid short string; if that ever failed the
    // message would go without an id rather than not at all.
    match ShortString::try_new(message_id::random_uuid()) {
        Ok(id) => properties.with_message_id(id),
        Err(_) => properties,
    }
}

pub(crate) fn publish_attributes(
    exchange: &str,
    routing_key: &str,
    body_size: usize,
    properties: &BasicProperties,
) -> Vec<Attribute> {
    let name = if exchange.is_empty() {
        "amq.default"
    } else {
        exchange
    };
    let mut attributes = base_attributes(SYSTEM, name, &Operation::send("publish"));
    if !routing_key.is_empty() {
        attributes.push((
            "messaging.rabbitmq.destination.routing_key".into(),
            routing_key.to_owned().into(),
        ));
    }
    message_attributes(body_size, properties, &mut attributes);
    attributes
}

/// `messaging.message.*` from the properties both sides see.
pub(crate) fn message_attributes(
    body_size: usize,
    properties: &BasicProperties,
    attributes: &mut Vec<Attribute>,
) {
    attributes.push((
        "messaging.message.body.size".into(),
        (body_size as u64).into(),
    ));
    if let Some(id) = properties.message_id() {
        attributes.push(("messaging.message.id".into(), id.as_str().to_owned().into()));
    }
    if let Some(id) = properties.correlation_id() {
        attributes.push((
            "messaging.message.conversation_id".into(),
            id.as_str().to_owned().into(),
        ));
    }
}
