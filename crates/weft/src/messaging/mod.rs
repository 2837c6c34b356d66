//! Message queues: the trace context rides with the message, so the consumer's work
//! joins the producer's trace across processes, brokers and languages.
//!
//! - [`amqp`] (feature `lapin`): RabbitMQ and any AMQP 0-9-1 broker. PRODUCER spans on
//!   publish, CONSUMER spans per delivery, batches with span links, ack/nack/reject
//!   and redelivery recorded, and [`amqp::celery`]: Celery's message protocol v2, so a
//!   Rust service enqueues tasks for Python Celery workers and runs theirs.
//! - [`nats`] (feature `nats`): publish/subscribe and request/reply over `async-nats`.
//! - For any other broker (Kafka, SQS, Redis streams…): [`inject_into`] the producer's
//!   headers inside a [`producer_span`], and [`consumer_span`] from the headers that
//!   arrived. The headers are `traceparent`, `tracestate` and `baggage`, as strings.
//!
//! ```
//! use std::collections::HashMap;
//! use weft::messaging::{self, Operation};
//!
//! // Producer: a PRODUCER span around the send; its context goes in the headers.
//! let mut headers: HashMap<String, String> = HashMap::new();
//! {
//!     let send = messaging::producer_span("kafka", "orders", Operation::send("send")).entered();
//!     messaging::inject_into(&mut headers);
//!     send.set_attribute("messaging.kafka.message.key", "order-42");
//!     // producer.send("orders", headers.clone(), payload)…
//! }
//!
//! assert!(headers["traceparent"].starts_with("00-"), "the producer's context rides along");
//!
//! // Consumer (another process): one CONSUMER span per message, a child of the
//! // producer's span (under the `distributed_tracing` policy).
//! let received = messaging::consumer_span("kafka", "orders", Operation::process(), &headers);
//! assert_eq!(received.state(), &messaging::ContextState::Carried);
//! received.in_scope(|| weft::info!("handling order"));
//!
//! // A message that arrived without headers is still handled, as a new root.
//! let orphan = messaging::consumer_span("kafka", "orders", Operation::process(), &HashMap::<String, String>::new());
//! assert_eq!(orphan.state(), &messaging::ContextState::Missing);
//! ```
//!
//! A message that carries no context, or an invalid one, is still handled, as a new
//! root whose [`CONTEXT_ATTRIBUTE`] says why (`missing`, or `invalid: <reason>`). The
//! guide is `docs/messaging.md`.

#[cfg(feature = "lapin")]
pub mod amqp;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "lapin")]
mod redelivery;
mod span;

pub use span::{
    CONTEXT_ATTRIBUTE, ConsumerSpan, ContextState, LINK_REASON_BATCH, LINK_REASON_REDELIVERY,
    Operation, consumer_span, producer_span,
};

use opentelemetry::Context;
use opentelemetry::propagation::Injector;
use weft_context::propagation::carrier_from_context;

/// Writes the current context (`traceparent`, and `tracestate`/`baggage` when there
/// is something to say) into a message's headers. Call it inside the PRODUCER span,
/// so the consumer becomes that span's child.
///
/// Works with any [`Injector`]: `HashMap<String, String>`, a
/// [`Carrier`](crate::Carrier), [`amqp::AmqpHeaders`], [`nats::NatsHeaders`].
pub fn inject_into(headers: &mut dyn Injector) {
    inject_context_into(&Context::current(), headers);
}

/// Like [`inject_into`], for a given context rather than the current one.
pub fn inject_context_into(cx: &Context, headers: &mut dyn Injector) {
    for (name, value) in &carrier_from_context(cx) {
        headers.set(name, value.to_owned());
    }
}
