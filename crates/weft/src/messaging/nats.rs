//! NATS through `async-nats`: the trace context in the NATS message headers.
//!
//! - [`publish`]: a PRODUCER span `publish <subject>`, its context injected.
//! - [`receive`]: per message, a CONSUMER span `process <subject>` whose parent is the
//!   publisher's span (under the [`distributed_tracing`](crate::DistributedTracing)
//!   policy); run the handler in it with [`ConsumerSpan::instrument`].
//! - [`request`]: a CLIENT span `request <subject>` around a request; the responder's
//!   [`receive`] span is its child, and [`respond`] (inside that span) publishes the
//!   reply in a PRODUCER span `reply <request subject>`, a child of the receive span,
//!   whose context the reply's headers carry.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use weft::messaging::nats;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = async_nats::connect("127.0.0.1:4222").await?;
//! let mut requests = client.subscribe("prices").await?;
//! let responder = client.clone();
//! tokio::spawn(async move {
//!     while let Some(message) = requests.next().await {
//!         let received = nats::receive(&message);
//!         let reply = received.instrument(nats::respond(&responder, &message, "42".into()));
//!         let _ = reply.await;
//!     }
//! });
//! let answer = nats::request(&client, "prices", async_nats::HeaderMap::new(), "apples".into()).await?;
//! # let _ = answer; Ok(()) }
//! ```

use super::span::{ConsumerSpan, Operation, base_attributes, receive as receive_span, start};
use async_nats::{Client, HeaderMap, HeaderName, HeaderValue, Message};
use bytes::Bytes;
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::Injector;
use std::str::FromStr;
use weft_context::propagation::{Carrier, FIELDS};

/// `messaging.system` for NATS.
pub const SYSTEM: &str = "nats";

/// A NATS header map to inject into: `inject_into(&mut NatsHeaders(&mut headers))`.
/// A name or value NATS cannot carry (control characters) is skipped, never a panic.
#[derive(Debug)]
pub struct NatsHeaders<'a>(pub &'a mut HeaderMap);

impl Injector for NatsHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_str(key), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

/// The propagation headers (`traceparent`, `tracestate`, `baggage`) of a NATS header
/// map, whatever their case; the last value of a repeated header wins.
pub fn carrier_from_headers(headers: &HeaderMap) -> Carrier {
    let mut carrier = Carrier::new();
    for (name, values) in headers.iter() {
        let name = name.to_string();
        let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(&name)) else {
            continue;
        };
        if let Some(value) = values.last() {
            carrier.insert(*field, value.as_str().to_owned());
        }
    }
    carrier
}

/// A NATS header map holding every entry of `carrier`.
pub fn headers_from_carrier(carrier: &Carrier) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut injector = NatsHeaders(&mut headers);
    for (name, value) in carrier {
        injector.set(name, value.to_owned());
    }
    headers
}

/// Publishes inside a PRODUCER span `publish <subject>`, with its context added to `headers`.
pub async fn publish(
    client: &Client,
    subject: &str,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<(), async_nats::PublishError> {
    let span = producer(subject, Operation::send("publish"), payload.len());
    let (cx, headers) = with_context(&span, headers);
    let result = client
        .publish_with_headers(subject.to_owned(), headers, payload)
        .with_context(cx)
        .await;
    if let Err(err) = &result {
        span.record_exception(err);
    }
    result
}

/// Sends a request inside a CLIENT span `request <subject>`, with its context added to
/// `headers`, and waits for the reply (the client's request timeout applies).
pub async fn request(
    client: &Client,
    subject: &str,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<Message, async_nats::RequestError> {
    let span = producer(subject, Operation::request(), payload.len());
    let (cx, headers) = with_context(&span, headers);
    let result = client
        .request_with_headers(subject.to_owned(), headers, payload)
        .with_context(cx)
        .await;
    match &result {
        Ok(reply) => {
            span.set_attribute("weft.messaging.reply.body.size", reply.payload.len() as u64)
        }
        Err(err) => span.record_exception(err),
    }
    result
}

/// Publishes the reply to `request` inside a PRODUCER span `reply <request subject>`
/// (a child of the current span: call it inside the request's [`receive`] span), with
/// that span's context in the reply's headers.
///
/// The reply goes to the requester's inbox, a subject made up per request: it is
/// `messaging.destination.name`, with `messaging.destination.temporary = true`, while
/// the span is named after the request's subject so that names stay few.
pub async fn respond(
    client: &Client,
    request: &Message,
    payload: Bytes,
) -> Result<(), RespondError> {
    let reply = request.reply.clone().ok_or(RespondError::NoReplySubject)?;
    let operation = Operation::send("reply");
    let mut attributes = base_attributes(SYSTEM, reply.as_str(), &operation);
    attributes.push(("messaging.destination.temporary".into(), true.into()));
    attributes.push((
        "messaging.message.body.size".into(),
        (payload.len() as u64).into(),
    ));
    let span = start(
        format!("reply {}", request.subject.as_str()).into(),
        operation.kind,
        attributes,
        Vec::new(),
        None,
    );
    let (cx, headers) = with_context(&span, HeaderMap::new());
    let result = client
        .publish_with_headers(reply, headers, payload)
        .with_context(cx)
        .await;
    if let Err(err) = &result {
        span.record_exception(err);
    }
    result?;
    Ok(())
}

/// Why a reply was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    /// The message was published, not requested: there is no one to answer.
    #[error("the NATS message has no reply subject: it was published, not sent with `request`")]
    NoReplySubject,
    /// The client could not publish.
    #[error("NATS reply failed: {0}")]
    Publish(#[from] async_nats::PublishError),
}

/// Starts the CONSUMER span `process <subject>` of one message: its parent is the
/// context the headers carry (a publish's PRODUCER span or a request's CLIENT span),
/// under the policy. A message without headers, or with an invalid `traceparent`, is a
/// new root with `weft.messaging.context` saying why.
pub fn receive(message: &Message) -> ConsumerSpan {
    let carrier = message
        .headers
        .as_ref()
        .map(carrier_from_headers)
        .unwrap_or_default();
    let subject = message.subject.as_str();
    let mut attributes = base_attributes(SYSTEM, subject, &Operation::process());
    attributes.push((
        "messaging.message.body.size".into(),
        (message.payload.len() as u64).into(),
    ));
    receive_span(
        format!("process {subject}").into(),
        opentelemetry::trace::SpanKind::Consumer,
        attributes,
        Vec::new(),
        &carrier,
    )
}

fn producer(subject: &str, operation: Operation, body_size: usize) -> crate::Span {
    let mut attributes = base_attributes(SYSTEM, subject, &operation);
    attributes.push((
        "messaging.message.body.size".into(),
        (body_size as u64).into(),
    ));
    start(
        format!("{} {subject}", operation.name).into(),
        operation.kind,
        attributes,
        Vec::new(),
        None,
    )
}

fn with_context(span: &crate::Span, mut headers: HeaderMap) -> (opentelemetry::Context, HeaderMap) {
    let cx = span.context();
    super::inject_context_into(&cx, &mut NatsHeaders(&mut headers));
    (cx, headers)
}
