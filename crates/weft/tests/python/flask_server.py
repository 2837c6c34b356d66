"""An instrumented Flask server: `flask_server.py PORT OTLP_BASE_URL`.

PORT 0 lets the OS choose; the port actually bound is printed as `PORT <n>`.
"""
import sys

from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from werkzeug.serving import make_server

from otel_setup import setup

port, otlp_base = int(sys.argv[1]), sys.argv[2]
setup("flask-backend", otlp_base)

app = Flask(__name__)
FlaskInstrumentor().instrument_app(app)


@app.route("/hello")
def hello():
    return "hello from flask"


server = make_server("127.0.0.1", port, app, threaded=True)
print(f"PORT {server.port}", flush=True)
server.serve_forever()
