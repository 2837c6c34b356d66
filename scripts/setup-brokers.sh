#!/usr/bin/env bash
# Installs the message brokers weft's messaging tests start on their own ports:
# Debian's rabbitmq-server (AMQP 0-9-1) and nats-server.
# Idempotent: runs `apt-get update` and installs only when a package is missing.
# The system services are neither started nor needed; the tests run their own instances.
set -euo pipefail
missing=()
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the package scripts from starting the system rabbitmq service,
# which would hold ports 5672/25672 and an Erlang node the tests don't use.
tmp_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  tmp_policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$tmp_policy" >/dev/null
  $sudo chmod +x "$tmp_policy"
fi
trap '[ -n "$tmp_policy" ] && $sudo rm -f "$tmp_policy"' EXIT
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
