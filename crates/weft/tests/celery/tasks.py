"""A real Celery app for weft's interop tests (mq_celery.rs).

Traced with opentelemetry-instrumentation-celery (what logfire.instrument_celery() wraps),
exporting OTLP/HTTP to the receiver the test runs. Environment:
WEFT_TEST_AMQP_URL, WEFT_TEST_OTLP (base URL), WEFT_TEST_QUEUE, OTEL_SERVICE_NAME.
"""
import os

from celery import Celery
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "celery")}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=os.environ["WEFT_TEST_OTLP"] + "/v1/traces")))
trace.set_tracer_provider(provider)
CeleryInstrumentor().instrument()
tracer = trace.get_tracer("weft-celery-test")

app = Celery("tasks", broker=os.environ["WEFT_TEST_AMQP_URL"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_default_queue=os.environ.get("WEFT_TEST_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="tasks.add")
def add(x, y):
    with tracer.start_as_current_span("adding"):
        return x + y


if __name__ == "__main__":
    # The producer half: apply_async inside a span, then export everything.
    with tracer.start_as_current_span("python checkout"):
        add.apply_async((2, 3), queue=os.environ["WEFT_TEST_QUEUE"])
    provider.force_flush()
    provider.shutdown()
