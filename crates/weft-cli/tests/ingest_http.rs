//! OTLP/HTTP ingest end to end over loopback: protobuf, JSON with hex ids, gzip, CORS,
//! refusals with reasons, partial success, logs. Each test starts the real server on port 0.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use support::*;

const T: u128 = 0x0af7651916cd43dd8448eb211c80319c;

fn two_service_trace(t0: u64) -> Vec<S> {
    vec![
        S::new("frontend", "GET /checkout", T, 1, None, t0, t0 + 50).kind(SERVER),
        S::new("frontend", "POST cart", T, 2, Some(1), t0 + 5, t0 + 40).kind(CLIENT),
        S::new("cart", "POST /cart", T, 3, Some(2), t0 + 6, t0 + 39)
            .kind(SERVER)
            .flags(REMOTE),
        S::new("cart", "SELECT cart", T, 4, Some(3), t0 + 10, t0 + 20).attr("db.system", "sqlite"),
    ]
}

const TREE: &str = "\
frontend GET /checkout
  frontend POST cart
    cart POST /cart
      cart SELECT cart
";

#[tokio::test]
async fn protobuf_over_http_gives_the_whole_tree() {
    let run = start().await;
    let (status, body) = post_proto(&run, &request(&two_service_trace(now_ms()))).await;
    assert_eq!(status, 200);
    let resp = ExportTraceServiceResponse::decode(&body[..]).unwrap();
    assert_eq!(resp.partial_success, None, "nothing rejected");
    let v = view(&run, T).await;
    assert_eq!(v.outline(), TREE);
    assert_eq!(v.services, ["frontend", "cart"]);
    assert!(
        v.findings.is_empty(),
        "a healthy trace has no findings: {:#?}",
        v.findings
    );
    let list = get_json(&run, "/api/traces").await;
    assert_eq!(list[0]["trace_id"], format!("{T:032x}"));
    assert_eq!(list[0]["root"], "GET /checkout");
    assert_eq!(list[0]["span_count"], 4);
    run.shutdown().await;
}

#[tokio::test]
async fn json_with_hex_ids_and_gzip_are_accepted() {
    let run = start().await;
    let t0 = now_ms();
    let json = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js-browser"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [
            {"traceId": format!("{T:032x}"), "spanId": "00000000000000aa", "parentSpanId": "", "name": "click",
             "kind": 1, "startTimeUnixNano": (t0 * 1_000_000).to_string(), "endTimeUnixNano": ((t0 + 3) * 1_000_000).to_string(),
             "attributes": [{"key": "n", "value": {"intValue": "3"}}]},
            {"traceId": format!("{T:032x}"), "spanId": "00000000000000bb", "parentSpanId": "00000000000000aa", "name": "fetch",
             "kind": 3, "startTimeUnixNano": t0 * 1_000_000 + 1, "endTimeUnixNano": (t0 + 2) * 1_000_000}
        ]}]
    }]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json.to_string().as_bytes()).unwrap();
    let r = client()
        .post(format!("http://{}/v1/traces", run.http))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let v = view(&run, T).await;
    assert_eq!(v.outline(), "js-browser click\n  js-browser fetch\n");
    assert_eq!(v.nodes[0].attributes.get(), r#"{"n":3}"#);
    run.shutdown().await;
}

#[tokio::test]
async fn cors_preflight_is_answered_without_a_token() {
    let run = start().await;
    let r = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/traces", run.http),
        )
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("content-type")
    );

    // A browser SDK with its own headers: the preflight allows exactly what it asks for.
    let asked = "content-type, x-custom-team, traceparent";
    let r = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/logs", run.http),
        )
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", asked)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-headers"], asked);

    // The export itself must carry the origin too, or the browser hides the answer.
    let t0 = now_ms();
    let r = client()
        .post(format!("http://{}/v1/traces", run.http))
        .header("origin", "http://localhost:5173")
        .header("content-type", "application/x-protobuf")
        .body(request(&two_service_trace(t0)).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    run.shutdown().await;
}

/// (content type, content encoding, body, status, what the answer must say, case).
type Refusal = (
    &'static str,
    &'static str,
    &'static [u8],
    u16,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const REFUSALS: &[Refusal] = &[
    ("application/x-protobuf", "", b"\xff\xff\xff", 400, "not a valid OTLP protobuf", "garbage protobuf"),
    ("application/json", "", b"{\"resourceSpans\": 3}", 400, "not valid OTLP/JSON", "wrong JSON shape"),
    ("application/json", "gzip", b"not gzip at all", 400, "not valid gzip", "bad gzip"),
    ("text/plain", "", b"hello", 415, "unsupported Content-Type", "unknown media type"),
    ("application/json", "br", b"{}", 415, "unsupported Content-Encoding", "unknown encoding"),
];

#[tokio::test]
async fn malformed_requests_are_refused_with_the_reason_and_store_nothing() {
    let run = start().await;
    for (ct, enc, body, status, reason, case) in REFUSALS {
        let mut req = client()
            .post(format!("http://{}/v1/traces", run.http))
            .header("content-type", *ct)
            .body(body.to_vec());
        if !enc.is_empty() {
            req = req.header("content-encoding", *enc);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), *status, "{case}");
        let text = String::from_utf8_lossy(&r.bytes().await.unwrap()).to_string();
        assert!(
            text.contains(reason),
            "{case}: body {text:?} should say {reason:?}"
        );
    }
    assert_eq!(get_json(&run, "/api/traces").await, serde_json::json!([]));
    run.shutdown().await;
}

#[tokio::test]
async fn spans_with_invalid_ids_are_rejected_as_partial_success() {
    let run = start().await;
    let t0 = now_ms();
    let mut req = request(&two_service_trace(t0));
    let mut bad = req.resource_spans[0].scope_spans[0].spans[0].clone();
    bad.span_id = vec![1, 2, 3];
    bad.name = "short id".into();
    req.resource_spans[0].scope_spans[0].spans.push(bad.clone());
    bad.span_id = vec![9; 8];
    bad.trace_id = vec![0; 16];
    bad.name = "zero trace".into();
    req.resource_spans[0].scope_spans[0].spans.push(bad);
    let (status, body) = post_proto(&run, &req).await;
    assert_eq!(status, 200);
    let partial = ExportTraceServiceResponse::decode(&body[..])
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial
            .error_message
            .contains("span_id must be 8 non-zero bytes"),
        "{}",
        partial.error_message
    );
    assert!(
        partial
            .error_message
            .contains("trace_id must be 16 non-zero bytes"),
        "{}",
        partial.error_message
    );
    assert_eq!(
        view(&run, T).await.outline(),
        TREE,
        "the valid spans were stored"
    );
    run.shutdown().await;
}

#[tokio::test]
async fn retried_batches_are_stored_once() {
    let run = start().await;
    let spans = two_service_trace(now_ms());
    send(&run, &spans).await;
    send(&run, &spans).await;
    let v = view(&run, T).await;
    assert_eq!(v.outline(), TREE);
    assert_eq!(get_json(&run, "/api/traces").await[0]["span_count"], 4);
    run.shutdown().await;
}

#[tokio::test]
async fn logs_hang_under_their_span() {
    let run = start().await;
    let t0 = now_ms();
    send(&run, &two_service_trace(t0)).await;
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "cart")],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: (t0 + 12) * 1_000_000,
                    severity_number: 13,
                    severity_text: "WARN".into(),
                    body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                        value: Some(
                            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                                "cart is empty".into(),
                            ),
                        ),
                    }),
                    trace_id: T.to_be_bytes().to_vec(),
                    span_id: 4u64.to_be_bytes().to_vec(),
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let r = client()
        .post(format!("http://{}/v1/logs", run.http))
        .header("content-type", "application/x-protobuf")
        .body(logs.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = view(&run, T).await;
    assert_eq!(v.outline(), format!("{TREE}        cart cart is empty\n"));
    let log = v.nodes.last().unwrap();
    assert!(log.is_log);
    assert_eq!(log.level_num, Some(13));
    run.shutdown().await;
}

#[tokio::test]
async fn logs_as_json_keep_severity_text_and_event_name() {
    let run = start().await;
    let t0 = now_ms();
    send(&run, &two_service_trace(t0)).await;
    let body = serde_json::json!({ "resourceLogs": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "cart" } }] },
        "scopeLogs": [{ "logRecords": [{
            "timeUnixNano": ((t0 + 12) * 1_000_000).to_string(),
            "severityNumber": 13,
            "severityText": "WARN",
            "eventName": "cart.empty",
            "body": { "stringValue": "cart is empty" },
            "traceId": format!("{T:032x}"),
            "spanId": format!("{:016x}", 4),
        }] }]
    }] });
    let r = client()
        .post(format!("http://{}/v1/logs", run.http))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let v = view(&run, T).await;
    assert_eq!(v.outline(), format!("{TREE}        cart cart is empty\n"));
    let otlp = client()
        .get(format!("http://{}/api/traces/{T:032x}/otlp", run.ui))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logs: serde_json::Value = serde_json::from_str(otlp.lines().nth(1).unwrap()).unwrap();
    let rec = &logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(rec["severityText"], "WARN", "{rec}");
    assert_eq!(rec["eventName"], "cart.empty", "{rec}");
    assert_eq!(rec["severityNumber"], 13, "{rec}");
    run.shutdown().await;
}
