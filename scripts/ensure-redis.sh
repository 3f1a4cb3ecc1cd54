#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379, installing and starting
# one if needed. Session, API-key and rate-limit tests use it.
set -euo pipefail

if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "redis: already running on 127.0.0.1:6379"
    exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis: installing redis-server from Debian packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

mkdir -p /var/lib/redis /var/log/redis
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log

for _ in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "redis: started on 127.0.0.1:6379"
        exit 0
    fi
    sleep 0.1
done
echo "redis: failed to start; see /var/log/redis/ci.log" >&2
exit 1
