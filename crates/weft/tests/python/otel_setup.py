"""OpenTelemetry for the test peers: spans go by OTLP/HTTP protobuf to the test's receiver."""
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def setup(service_name: str, otlp_base: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # Simple (not batch): each span is exported when it ends, so the test sees it promptly.
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_base}/v1/traces")))
    trace.set_tracer_provider(provider)
    return provider
