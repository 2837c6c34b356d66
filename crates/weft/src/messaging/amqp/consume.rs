//! Consuming: one CONSUMER span per delivery (or per batch), settlement recorded on it.

use super::headers::carrier_from_headers;
use super::{SYSTEM, message_attributes};
use crate::messaging::redelivery;
use crate::messaging::span::{
    ConsumerSpan, LINK_REASON_BATCH, LINK_REASON_REDELIVERY, Operation, base_attributes, carried,
    link, receive as receive_span,
};
use crate::record::{Attribute, SpanLink};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use opentelemetry::trace::SpanKind;
use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use weft_context::propagation::{Carrier, TRACEPARENT};

/// Attribute on a consumer span: how the delivery was settled (`ack`, `nack`, `reject`).
pub const SETTLEMENT_ATTRIBUTE: &str = "weft.messaging.settlement";

/// How a delivery is settled with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// `basic.ack`: done.
    Ack,
    /// `basic.nack`; `requeue` puts it back for another attempt.
    Nack {
        /// Whether the broker redelivers it.
        requeue: bool,
    },
    /// `basic.reject`; `requeue` puts it back for another attempt.
    Reject {
        /// Whether the broker redelivers it.
        requeue: bool,
    },
}

/// One delivery being processed: its CONSUMER span and the delivery, to settle it.
/// Dropping it ends the span; a delivery dropped unsettled is remembered, so its
/// redelivery links to this attempt.
#[derive(Debug)]
#[must_use = "the span ends when this is dropped: run the handler in it and settle the delivery first"]
pub struct Received<'d> {
    delivery: &'d Delivery,
    consumer: ConsumerSpan,
    key: Option<String>,
    settled: AtomicBool,
}

/// Starts the CONSUMER span `process <queue>` of one delivery (see the [module
/// docs](super)). Nothing is acknowledged until [`Received::ack`] or another settlement.
pub fn receive<'d>(delivery: &'d Delivery, queue: &str) -> Received<'d> {
    received(
        delivery,
        queue,
        format!("process {queue}").into(),
        Vec::new(),
    )
}

/// Like [`receive`] with the span's name and extra attributes given.
pub(crate) fn received<'d>(
    delivery: &'d Delivery,
    queue: &str,
    name: Cow<'static, str>,
    extra: Vec<Attribute>,
) -> Received<'d> {
    let table = delivery.properties.headers().as_ref();
    let carrier = table.map(carrier_from_headers).unwrap_or_default();
    let mut attributes = base_attributes(SYSTEM, queue, &Operation::process());
    attributes.extend(extra);
    if !delivery.routing_key.as_str().is_empty() {
        attributes.push((
            "messaging.rabbitmq.destination.routing_key".into(),
            delivery.routing_key.as_str().to_owned().into(),
        ));
    }
    attributes.push((
        "messaging.rabbitmq.message.delivery_tag".into(),
        delivery.delivery_tag.into(),
    ));
    message_attributes(delivery.data.len(), &delivery.properties, &mut attributes);
    let key = message_key(delivery, &carrier);
    let mut links = Vec::new();
    if delivery.redelivered {
        attributes.push(("weft.messaging.redelivered".into(), true.into()));
        // The attempt this process remembers, else the producer's span, whose child
        // the earlier attempt was (see redelivery.rs).
        let earlier = key
            .as_deref()
            .and_then(redelivery::earlier)
            .or_else(|| carried(&carrier));
        if let Some(earlier) = earlier {
            links.push(link(earlier, LINK_REASON_REDELIVERY));
        }
    }
    let consumer = receive_span(name, SpanKind::Consumer, attributes, links, &carrier);
    Received {
        delivery,
        consumer,
        key,
        settled: AtomicBool::new(false),
    }
}

/// What identifies one published message across its deliveries.
fn message_key(delivery: &Delivery, carrier: &Carrier) -> Option<String> {
    carrier.get(TRACEPARENT).map(str::to_owned).or_else(|| {
        delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| format!("id:{id}"))
    })
}

impl Received<'_> {
    /// The consumer span and the context the handler runs in.
    pub fn consumer(&self) -> &ConsumerSpan {
        &self.consumer
    }

    /// The span, to add attributes.
    pub fn span(&self) -> &crate::Span {
        self.consumer.span()
    }

    /// `fut`, polled inside the consumer span: its spans and logs are the span's children.
    pub fn in_span<F: Future>(&self, fut: F) -> opentelemetry::context::WithContext<F> {
        self.consumer.instrument(fut)
    }

    /// Runs `f` inside the consumer span.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        self.consumer.in_scope(f)
    }

    /// Acknowledges the delivery.
    pub async fn ack(&self) -> Result<(), lapin::Error> {
        self.settle(Settlement::Ack).await
    }

    /// Negatively acknowledges the delivery; with `requeue` the broker delivers it again.
    pub async fn nack(&self, requeue: bool) -> Result<(), lapin::Error> {
        self.settle(Settlement::Nack { requeue }).await
    }

    /// Rejects the delivery; with `requeue` the broker delivers it again.
    pub async fn reject(&self, requeue: bool) -> Result<(), lapin::Error> {
        self.settle(Settlement::Reject { requeue }).await
    }

    /// Settles the delivery and records how on the span (`weft.messaging.settlement`,
    /// and `weft.messaging.requeue` for nack and reject).
    pub async fn settle(&self, settlement: Settlement) -> Result<(), lapin::Error> {
        let span = self.consumer.span();
        let acker = &self.delivery.acker;
        let (word, requeue) = match settlement {
            Settlement::Ack => ("ack", None),
            Settlement::Nack { requeue } => ("nack", Some(requeue)),
            Settlement::Reject { requeue } => ("reject", Some(requeue)),
        };
        span.set_attribute(SETTLEMENT_ATTRIBUTE, word);
        if let Some(requeue) = requeue {
            span.set_attribute("weft.messaging.requeue", requeue);
            if requeue {
                self.remember();
            }
        }
        self.settled.store(true, Ordering::Relaxed);
        let result = match settlement {
            Settlement::Ack => acker.ack(BasicAckOptions::default()).await,
            Settlement::Nack { requeue } => {
                acker
                    .nack(BasicNackOptions {
                        requeue,
                        ..Default::default()
                    })
                    .await
            }
            Settlement::Reject { requeue } => acker.reject(BasicRejectOptions { requeue }).await,
        };
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                span.record_exception(&err);
                Err(err)
            }
        }
    }

    /// Remembers this attempt, for the redelivery to link to.
    fn remember(&self) {
        if let (Some(key), Some(sc)) = (&self.key, self.consumer.span().span_context()) {
            redelivery::remember(key, sc);
        }
    }
}

impl Drop for Received<'_> {
    fn drop(&mut self) {
        if !self.settled.load(Ordering::Relaxed) {
            self.remember();
        }
    }
}

/// Processes one delivery: `handler` runs inside its CONSUMER span; `Ok` acks it, `Err`
/// records the error on the span and rejects the delivery without requeueing (route
/// it to a dead-letter exchange to keep it). The outer error is the settlement's.
pub async fn process<'d, T, E, F, Fut>(
    delivery: &'d Delivery,
    queue: &str,
    handler: F,
) -> Result<Result<T, E>, lapin::Error>
where
    F: FnOnce(&'d Delivery) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error,
{
    let received = receive(delivery, queue);
    let outcome = received.in_span(handler(delivery)).await;
    match &outcome {
        Ok(_) => received.ack().await?,
        Err(err) => {
            received.span().record_exception(err);
            received.reject(false).await?;
        }
    }
    Ok(outcome)
}

/// Starts one CONSUMER span `process <queue>` for a batch, under the current span,
/// linked to every message's producer span (`weft.link.reason = messaging.batch`), with
/// `messaging.batch.message_count`. Messages without a valid context are counted in
/// `weft.messaging.batch.without_context`. Settle the deliveries yourself.
pub fn process_batch(deliveries: &[Delivery], queue: &str) -> ConsumerSpan {
    let mut attributes = base_attributes(SYSTEM, queue, &Operation::process());
    attributes.push((
        "messaging.batch.message_count".into(),
        (deliveries.len() as u64).into(),
    ));
    let mut links: Vec<SpanLink> = Vec::with_capacity(deliveries.len());
    let mut without = 0u64;
    for delivery in deliveries {
        let carrier = delivery
            .properties
            .headers()
            .as_ref()
            .map(carrier_from_headers)
            .unwrap_or_default();
        match carried(&carrier) {
            Some(producer) => links.push(link(producer, LINK_REASON_BATCH)),
            None => without += 1,
        }
    }
    if without > 0 {
        attributes.push((
            "weft.messaging.batch.without_context".into(),
            without.into(),
        ));
    }
    let name: Cow<'static, str> = format!("process {queue}").into();
    let span = crate::messaging::span::start(name, SpanKind::Consumer, attributes, links, None);
    ConsumerSpan::local(span)
}
