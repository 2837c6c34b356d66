"""Produces, with the real Python OpenTelemetry SDK, one trace per health diagnosis.

Each service is its own TracerProvider exporting over OTLP/HTTP (protobuf) to weft, and
contexts cross between services only as W3C traceparent headers (inject, then extract), as
they would over HTTP. Prints the trace id.

Usage: python diagnoses.py <scenario> <http base url>

Scenarios:
  sampling_gap    gateway (sampled) -> pricing (a bare TraceIdRatioBased(0.5) sampler, not
                  parent-based, which drops this trace id) -> worker (ALWAYS_ON, ignores the
                  parent's sampled=0 and records): worker's span continues a parent that
                  pricing created and never exported.
  foreign_parent  worker continues a traceparent from a caller that exports nowhere.
  local_unended   a parent span is started and never ended while its child ends and is flushed.
  clock_skew      backend's clock runs 2 s ahead: its spans get explicit start/end times.
  duplicate_ids   two worker processes forked with the same id-generator seed answer a fan-out,
                  so their spans get the same span ids.
"""

import random
import sys
import time

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

scenario, http_url = sys.argv[1], sys.argv[2]
propagator = TraceContextTextMapPropagator()
providers = []


def service(name, **kwargs):
    provider = TracerProvider(resource=Resource.create({"service.name": name}), **kwargs)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{http_url}/v1/traces")))
    providers.append(provider)
    return provider.get_tracer(name)


def headers_now():
    """The traceparent a client would send from the current context."""
    carrier = {}
    propagator.inject(carrier)
    return carrier


class DroppedByRatio(IdGenerator):
    """Random span ids; trace ids whose low 64 bits are high, so TraceIdRatioBased(0.5) drops them."""

    def __init__(self):
        self.rng = RandomIdGenerator()

    def generate_span_id(self):
        return self.rng.generate_span_id()

    def generate_trace_id(self):
        return (random.getrandbits(64) << 64) | 0xF000_0000_0000_0000 | random.getrandbits(60)


class Seeded(IdGenerator):
    """An id generator seeded the same in every forked worker (the bug)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def generate_span_id(self):
        return self.rng.getrandbits(64) or 1

    def generate_trace_id(self):
        return self.rng.getrandbits(128) or 1


def sampling_gap():
    gateway = service("py-gateway", id_generator=DroppedByRatio())
    pricing = service("py-pricing", sampler=TraceIdRatioBased(0.5))
    worker = service("py-worker", sampler=ALWAYS_ON)
    with gateway.start_as_current_span("GET /quote", kind=SpanKind.SERVER) as root:
        with gateway.start_as_current_span("call pricing", kind=SpanKind.CLIENT):
            incoming = propagator.extract(headers_now())
        with pricing.start_as_current_span("POST /price", context=incoming, kind=SpanKind.SERVER) as dropped:
            assert not dropped.is_recording(), "the ratio sampler should drop this trace id"
            with pricing.start_as_current_span("call worker", kind=SpanKind.CLIENT):
                to_worker = propagator.extract(headers_now())
        assert to_worker is not None
        with worker.start_as_current_span("work", context=to_worker, kind=SpanKind.SERVER):
            with worker.start_as_current_span("compute"):
                pass
        return root.get_span_context().trace_id


def foreign_parent():
    worker = service("py-worker")
    trace_id = random.getrandbits(128)
    foreign = f"00-{trace_id:032x}-{random.getrandbits(64):016x}-01"
    incoming = propagator.extract({"traceparent": foreign})
    with worker.start_as_current_span("GET /public", context=incoming, kind=SpanKind.SERVER):
        with worker.start_as_current_span("render"):
            pass
    return trace_id


def local_unended():
    app = service("py-app")
    parent = app.start_span("handle job")  # never ended: the crash/leak under test
    with app.start_as_current_span("step", context=trace.set_span_in_context(parent)):
        pass
    return parent.get_span_context().trace_id


def clock_skew():
    front = service("py-front")
    backend = service("py-backend")
    ahead = 2_000_000_000  # backend's clock runs 2 s ahead
    with front.start_as_current_span("GET /page", kind=SpanKind.SERVER) as root:
        with front.start_as_current_span("call backend", kind=SpanKind.CLIENT):
            incoming = propagator.extract(headers_now())
            start = time.time_ns() + ahead
            span = backend.start_span("GET /data", context=incoming, kind=SpanKind.SERVER, start_time=start)
            time.sleep(0.01)
            span.end(end_time=time.time_ns() + ahead)
        return root.get_span_context().trace_id


def duplicate_ids():
    gateway = service("py-gateway")
    # Two processes of one service, both seeded 7 after fork.
    workers = [service("py-worker", id_generator=Seeded(7)) for _ in range(2)]
    with gateway.start_as_current_span("GET /batch", kind=SpanKind.SERVER) as root:
        for i, worker in enumerate(workers):
            with gateway.start_as_current_span(f"call worker {i}", kind=SpanKind.CLIENT):
                incoming = propagator.extract(headers_now())
            with worker.start_as_current_span("POST /item", context=incoming, kind=SpanKind.SERVER):
                pass
        return root.get_span_context().trace_id


trace_id = {
    "sampling_gap": sampling_gap,
    "foreign_parent": foreign_parent,
    "local_unended": local_unended,
    "clock_skew": clock_skew,
    "duplicate_ids": duplicate_ids,
}[scenario]()
otel_context.attach(otel_context.Context())
for p in providers:
    p.shutdown()
print(format(trace_id, "032x"))
