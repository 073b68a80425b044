#!/usr/bin/env python3
"""CI benchmark of `rampart server` (issue 6), driven by benches/ci-load.sh.

Times come from the server's own run and step timestamps (queued, started,
finished; milliseconds), so the client's polling does not count, except
for the SSE fan-out, timed on this machine's clock (the same clock).

1. Queue-to-start latency with free runner slots: 1,000 trivial runs,
   submitted by SLOTS - 1 clients that each start a run and wait for it,
   so a slot is always free when a run is queued.
2. Throughput: 1,000 trivial runs queued at once; runs per second from the
   first queued to the last finished.
3. Log ingestion: one step printing 1 GiB of 100-byte lines, through the
   masker (with the run's secrets registered) into the database; MiB/s over
   the step's duration, beside the same command writing to /dev/null here.
4. Live fan-out: one step printing 100,000 lines with 100 SSE viewers
   (curl) connected, against the same run with none; every viewer must get
   every line.
"""

import concurrent.futures
import os
import subprocess
import sys
import time

from rampart_api import Api

SCOPE = "org=eng&project=web"


def pipeline(identifier, command):
    indented = "\n".join("                      " + line for line in command.splitlines())
    return f"""pipeline:
  identifier: {identifier}
  name: {identifier}
  stages:
    - stage:
        identifier: main
        name: main
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: work
                  name: work
                  type: Run
                  spec:
                    shell: Sh
                    command: |
{indented}
"""


def start(api, identifier):
    return api.call("POST", f"/api/pipelines/{identifier}/runs?{SCOPE}", {})["id"]


def finished(api, run, poll=0.01):
    while True:
        detail = api.call("GET", f"/api/runs/{run}")
        if detail["status"] not in ("Queued", "Running"):
            if detail["status"] != "Success":
                sys.exit(f"run {run} ended {detail['status']}: {detail.get('message')}")
            return detail
        time.sleep(poll)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency_with_free_slots(api, count, clients):
    def client(n):
        waits = []
        for _ in range(n):
            run = finished(api, start(api, "trivial"))
            waits.append(run["started_at_ms"] - run["queued_at_ms"])
        return waits

    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    began = time.time()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        waits = [w for part in pool.map(client, shares) for w in part]
    elapsed = time.time() - began
    print(f"queue-to-start with free slots ({count} runs, {clients} clients one run each at a time): "
          f"p50 {percentile(waits, 50)} ms, p99 {percentile(waits, 99)} ms, max {max(waits)} ms; "
          f"{count / elapsed:.1f} runs/s end to end")


def burst_throughput(api, count):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: start(api, "trivial"), range(count)))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        details = list(pool.map(lambda r: finished(api, r, poll=0.2), runs))
    first = min(d["queued_at_ms"] for d in details)
    last = max(d["finished_at_ms"] for d in details)
    waits = [d["started_at_ms"] - d["queued_at_ms"] for d in details]
    durations = [d["finished_at_ms"] - d["started_at_ms"] for d in details]
    print(f"throughput ({count} runs queued at once): {count / ((last - first) / 1000):.1f} runs/s "
          f"({(last - first) / 1000:.1f} s first queued to last finished); "
          f"run duration p50 {percentile(durations, 50)} ms; queue wait p50 {percentile(waits, 50)} ms, p99 {percentile(waits, 99)} ms")


def step_seconds(detail):
    step = detail["stages"][0]["steps"][0]
    return (step["finished_at_ms"] - step["started_at_ms"]) / 1000


GIB = 1 << 30
# 99 characters and a newline: 100-byte lines.
BIG = f'yes "{"x" * 89} 123456789" | head -c {GIB}'


def ingestion(api, url, token):
    here_began = time.time()
    subprocess.run(["sh", "-c", BIG + " >/dev/null"], check=True)
    here = time.time() - here_began
    detail = finished(api, start(api, "big"), poll=0.2)
    seconds = step_seconds(detail)
    # Everything arrived: the stored log, downloaded.
    stored = subprocess.run(
        ["sh", "-c", f"curl -sf -H 'x-api-key: {token}' '{url}/api/runs/{detail['id']}/logs?step=main.work' | grep -c '^x'"],
        capture_output=True, text=True, check=True).stdout.strip()
    print(f"log ingestion (1 GiB in 100-byte lines, masked, stored): {1024 / seconds:.0f} MiB/s "
          f"({seconds:.1f} s step); the same command to /dev/null here: {1024 / here:.0f} MiB/s; "
          f"stored lines {stored} of {-(-GIB // 100)}")


def fan_out(api, url, token, viewers, lines):
    alone = step_seconds(finished(api, start(api, "fanout"), poll=0.05))
    run = start(api, "fanout")
    began = time.time()
    # Each viewer writes to its own file, so no viewer waits on this script.
    outputs = [f"{os.environ.get('TMPDIR', '/tmp')}/rampart-viewer-{os.getpid()}-{i}" for i in range(viewers)]
    curls = [subprocess.Popen(
        ["curl", "-sN", "-o", output, "-H", f"x-api-key: {token}", f"{url}/api/runs/{run}/logs/stream"])
        for output in outputs]
    for curl in curls:
        curl.wait()
    last_viewer_done = time.time()
    counts = []
    for output in outputs:
        with open(output, "rb") as viewed:
            counts.append(viewed.read().count(b'"stream":"stdout"'))
        os.remove(output)
    detail = finished(api, run)
    watched = step_seconds(detail)
    behind = last_viewer_done - detail["finished_at_ms"] / 1000
    complete = sum(1 for c in counts if c == lines)
    print(f"fan-out ({lines} lines to {viewers} SSE viewers): {complete}/{viewers} viewers got every line; "
          f"step {watched:.2f} s watched vs {alone:.2f} s alone (x{watched / alone:.2f}); "
          f"last viewer done {behind * 1000:.0f} ms after the run finished; "
          f"{viewers * lines / (last_viewer_done - began):,.0f} lines/s delivered in all")


def main():
    url, password, slots = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runs = int(os.environ.get("RUNS", "1000"))
    api = Api(url)
    api.log_in("admin@localhost", password)
    api.call("POST", "/api/orgs", {"identifier": "eng", "name": "Engineering"})
    api.call("POST", "/api/orgs/eng/projects", {"identifier": "web", "name": "Web"})
    token = api.token()
    api.headers = {"x-api-key": token}
    fan_lines = 100_000
    for identifier, command in [
        ("trivial", "true"),
        ("big", BIG),
        ("fanout", f'yes "a live log line of some forty-odd bytes" | head -n {fan_lines}'),
    ]:
        api.call("POST", f"/api/pipelines?{SCOPE}", {"yaml": pipeline(identifier, command)})
    finished(api, start(api, "trivial"))  # warm-up
    latency_with_free_slots(api, runs, max(1, slots - 1))
    burst_throughput(api, runs)
    ingestion(api, url, token)
    fan_out(api, url, token, 100, fan_lines)


if __name__ == "__main__":
    main()
