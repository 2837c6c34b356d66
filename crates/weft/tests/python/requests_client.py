"""An instrumented `requests` client: `requests_client.py URL OTLP_BASE_URL`.

Calls URL once inside a span, prints the response body and exits after exporting.
"""
import sys

import requests
from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor

from otel_setup import setup

url, otlp_base = sys.argv[1], sys.argv[2]
provider = setup("python-client", otlp_base)
RequestsInstrumentor().instrument()

with trace.get_tracer("interop").start_as_current_span("python client work"):
    response = requests.get(url, timeout=10)
print(response.status_code, response.text, flush=True)
provider.shutdown()
sys.exit(0 if response.ok else 1)
