#!/usr/bin/env python3
"""Benchmarks of Berth's live engine against the commands a user would otherwise type, measured in
the same run on the real engine:

  1. `berth status --json` vs `docker-compose ps` vs `docker ps -a --filter label=...`, on a
     7-service seed-like stack and on 50 busybox services (hyperfine, no shell).
  2. Event-to-state latency: from the kill request to the changed status line of a running
     `berth status --watch --json`, p50/p95, next to what a 1 s `docker-compose ps` poll costs.
  3. Log throughput: a container that printed 1M lines, `berth logs` vs `docker logs`, to
     /dev/null.
  4. Idle CPU and RSS of `berth status --watch` on the 7-service stack over 60 s, next to a
     `docker events` stream watching the same project for the same time.

Usage: bench/live.py   (after ./scripts/test.sh or ./scripts/setup.sh + scripts/fixture-images.sh)
Environment: BENCH_RUNS (default 10), BENCH_IDLE_SECONDS (default 60), BENCH_KILLS (default 20).
"""

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/berth/target"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
IDLE = int(os.environ.get("BENCH_IDLE_SECONDS", "60"))
KILLS = int(os.environ.get("BENCH_KILLS", "20"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "status,latency,idle,logs").split(",")))
BERTH = os.path.join(TARGET, "release", "berth")
COMPOSE = shutil.which("docker-compose")
DOCKER = shutil.which("docker")

SEVEN = """services:
  nginx:
    image: nginx:alpine
    ports: ["127.0.0.1:18180:80"]
    depends_on: [php-fpm]
  php-fpm:
    image: php:8.3-fpm-alpine
    environment: {DB_HOST: mysql, REDIS_HOST: redis, DB_PASSWORD: bench-secret}
  queue-worker:
    image: berth-fixture/busybox:1
    init: true
    command: ["sleep", "86400"]
  scheduler:
    image: berth-fixture/busybox:1
    init: true
    command: ["sleep", "86400"]
  mysql:
    image: mysql:8.0
    environment: {MARIADB_ROOT_PASSWORD: bench-root, MARIADB_DATABASE: app}
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -uroot -pbench-root"]
      interval: 2s
      retries: 60
  redis:
    image: redis:7-alpine
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 2s
  frontend-dev:
    image: berth-fixture/busybox:1
    init: true
    command: ["sh", "-c", "mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 5173 -h /w"]
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def compose(dirname, project, *args):
    return run([COMPOSE, "-p", project, "-f", os.path.join(dirname, "compose.yaml"), *args])


def write_stack(text):
    d = tempfile.mkdtemp(prefix="berth-bench-")
    with open(os.path.join(d, "compose.yaml"), "w") as f:
        f.write(text)
    return d


def hyperfine(cmds):
    out = tempfile.mktemp(suffix=".json")
    args = ["hyperfine", "-N", "--style", "none", "--warmup", "2", "--runs", str(RUNS), "--export-json", out]
    for name, cmd in cmds:
        args += ["--command-name", name, cmd]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        res = {r["command"]: r["mean"] for r in json.load(f)["results"]}
    os.unlink(out)
    return res


def unix_post(path):
    conn = http.client.HTTPConnection("localhost")
    conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.sock.connect("/var/run/docker.sock")
    conn.request("POST", path)
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def section(title):
    print(f"\n## {title}", flush=True)


def status_bench(label, dirname, project):
    res = hyperfine([
        ("berth", f"{BERTH} status --json {dirname} -p {project}"),
        ("compose", f"{COMPOSE} -p {project} -f {dirname}/compose.yaml ps"),
        ("docker", f"{DOCKER} ps -a --filter label=com.docker.compose.project={project}"),
    ])
    b, c, d = res["berth"], res["compose"], res["docker"]
    print(f"{label:<22} berth {b*1000:7.1f} ms   docker-compose ps {c*1000:7.1f} ms ({c/b:5.1f}x)   docker ps --filter {d*1000:6.1f} ms ({d/b:4.2f}x)")


def main():
    for tool in ("hyperfine",):
        if not shutil.which(tool):
            sys.exit(f"{tool} missing: run ./scripts/setup.sh")
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "berth-cli"], cwd=REPO, check=True,
                   env={**os.environ, "CARGO_TARGET_DIR": TARGET})

    seven = write_stack(SEVEN)
    fifty = write_stack("services:\n" + "".join(
        f"  s{i}:\n    image: berth-fixture/busybox:1\n    init: true\n    command: [\"sleep\", \"86400\"]\n" for i in range(1, 51)))
    logs = write_stack("services:\n  printer:\n    image: berth-fixture/busybox:1\n    command: [\"seq\", \"1\", \"1000000\"]\n")
    stacks = [(seven, "benchseven"), (fifty, "benchfifty"), (logs, "benchlogs")]
    try:
        for d, p in stacks:
            compose(d, p, "up", "-d")
        run([BERTH, "up", seven, "-p", "benchseven", "--timeout", "180"])

        if "status" in ONLY:
            section("status: berth status --json vs the commands it replaces (mean)")
            status_bench("7-service seed-like", seven, "benchseven")
            status_bench("50 busybox services", fifty, "benchfifty")

        if "latency" in ONLY or "idle" in ONLY:
            section(f"event-to-state latency: kill request -> changed `berth status --watch --json` line ({KILLS} kills)")
            watch = subprocess.Popen([BERTH, "status", "--watch", "--json", seven, "-p", "benchseven"], stdout=subprocess.PIPE, text=True)
            lines = []
            cond = threading.Condition()

            def reader():
                for line in watch.stdout:
                    t = time.perf_counter()
                    with cond:
                        lines.append((t, json.loads(line)))
                        cond.notify_all()

            threading.Thread(target=reader, daemon=True).start()

            def wait_for(pred, timeout=30):
                end = time.perf_counter() + timeout
                with cond:
                    while True:
                        for t, v in lines:
                            if pred(v):
                                return t
                        left = end - time.perf_counter()
                        if left <= 0:
                            raise TimeoutError("status never changed")
                        cond.wait(left)

            def state(v, name):
                return next(s for s in v["services"] if s["name"] == name)

            wait_for(lambda v: v["engine"]["connected"] and state(v, "queue-worker")["state"] == "running")
            latencies = []
            for i in range(KILLS):
                name = "queue-worker" if i % 2 == 0 else "scheduler"
                cid = state(lines[-1][1], name)["containers"][0]["id"]
                with cond:
                    lines.clear()
                t0 = time.perf_counter()
                unix_post(f"/containers/{cid}/kill")
                t1 = wait_for(lambda v: state(v, name)["state"] == "exited")
                latencies.append((t1 - t0) * 1000)
                with cond:
                    lines.clear()
                unix_post(f"/containers/{cid}/start")
                wait_for(lambda v: state(v, name)["state"] == "running")
            latencies.sort()
            p50 = statistics.median(latencies)
            p95 = latencies[min(len(latencies) - 1, int(round(0.95 * len(latencies))) - 1)]
            ps = hyperfine([("compose", f"{COMPOSE} -p benchseven -f {seven}/compose.yaml ps")])["compose"] * 1000
            poll = 500 + ps
            print(f"berth p50 {p50:6.1f} ms  p95 {p95:6.1f} ms   a 1 s docker-compose ps poll: ~{poll:6.0f} ms on average ({poll/p50:5.1f}x slower than berth's p50)")

            if "idle" in ONLY:
                section(f"idle: berth status --watch vs docker events on the same project, {IDLE} s")
                events = subprocess.Popen([DOCKER, "events", "--filter", "label=com.docker.compose.project=benchseven"], stdout=subprocess.DEVNULL)
                time.sleep(3)
                hz = os.sysconf("SC_CLK_TCK")
                b0, e0 = cpu_ticks(watch.pid), cpu_ticks(events.pid)
                time.sleep(IDLE)
                b1, e1 = cpu_ticks(watch.pid), cpu_ticks(events.pid)
                bcpu = (b1 - b0) / hz / IDLE * 100
                ecpu = (e1 - e0) / hz / IDLE * 100
                print(f"berth status --watch: CPU {bcpu:5.2f} %  RSS {rss_kb(watch.pid)/1024:6.1f} MB   docker events: CPU {ecpu:5.2f} %  RSS {rss_kb(events.pid)/1024:6.1f} MB")
                events.terminate()
            watch.terminate()

        if "logs" in ONLY:
            section("logs: 1,000,000 lines from one container, to /dev/null")
            cid = run([DOCKER, "ps", "-aq", "--filter", "label=com.docker.compose.project=benchlogs"]).stdout.split()[0]
            while run([DOCKER, "inspect", "-f", "{{.State.Running}}", cid]).stdout.strip() == "true":
                time.sleep(0.5)
            res = hyperfine([
                ("berth", f"{BERTH} logs {logs} -p benchlogs printer"),
                ("docker", f"{DOCKER} logs {cid}"),
            ])
            count = len(run([BERTH, "logs", logs, "-p", "benchlogs", "printer"]).stdout.splitlines())
            b, d = res["berth"], res["docker"]
            print(f"berth logs {b*1000:7.0f} ms ({count/b/1e6:5.2f} M lines/s)   docker logs {d*1000:7.0f} ms ({1e6/d/1e6:5.2f} M lines/s)   berth throughput = {d/b:4.2f}x docker's")
            if count != 1_000_000:
                print(f"  (berth returned {count} lines)")
    finally:
        for d, p in stacks:
            subprocess.run([COMPOSE, "-p", p, "-f", os.path.join(d, "compose.yaml"), "down", "-v", "-t", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
