#!/usr/bin/env bash
# Start PostgreSQL and Redis when they are installed but not running (CI machines, dev boxes).
# Never fails the caller: the tests that need these services skip with a reason when absent.
# Called by .ci/run before the test suite.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  if pg_up; then
    echo "ci_services: PostgreSQL already running"
  else
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up && echo "ci_services: PostgreSQL started" || echo "ci_services: PostgreSQL did not start"
  fi
else
  echo "ci_services: PostgreSQL not installed (service tests will skip)"
fi

if command -v redis-server >/dev/null 2>&1; then
  if redis_up; then
    echo "ci_services: Redis already running"
  else
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
    redis_up && echo "ci_services: Redis started" || echo "ci_services: Redis did not start"
  fi
else
  echo "ci_services: Redis not installed (service tests will skip)"
fi
exit 0
