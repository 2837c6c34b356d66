"""Sends one trace across two services with the real Python OpenTelemetry SDK.

py-frontend exports over OTLP/HTTP (protobuf), py-backend over OTLP/gRPC; the context
crosses between them through a W3C traceparent carrier (inject, then extract), as it would
over HTTP headers. Prints the trace id.

Usage: python two_services.py <http base url> <grpc url>
"""

import sys

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

http_url, grpc_url = sys.argv[1], sys.argv[2]

frontend = TracerProvider(resource=Resource.create({"service.name": "py-frontend"}))
frontend.add_span_processor(BatchSpanProcessor(HttpExporter(endpoint=f"{http_url}/v1/traces")))
backend = TracerProvider(resource=Resource.create({"service.name": "py-backend"}))
backend.add_span_processor(BatchSpanProcessor(GrpcExporter(endpoint=grpc_url, insecure=True)))

propagator = TraceContextTextMapPropagator()
front_tracer = frontend.get_tracer("frontend")
back_tracer = backend.get_tracer("backend")

with front_tracer.start_as_current_span("GET /order", kind=SpanKind.SERVER) as root:
    with front_tracer.start_as_current_span("call pricing", kind=SpanKind.CLIENT):
        headers = {}
        propagator.inject(headers)
        # "Another process": only the headers cross over.
        remote = propagator.extract(headers)
        with back_tracer.start_as_current_span("POST /price", context=remote, kind=SpanKind.SERVER):
            with back_tracer.start_as_current_span("compute", attributes={"price.items": 3}):
                pass
    trace_id = root.get_span_context().trace_id

backend.shutdown()
frontend.shutdown()
print(format(trace_id, "032x"))
