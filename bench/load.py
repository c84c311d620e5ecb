"""A load generator: ``--concurrency`` threads, each with one keep-alive HTTP/1.1 connection,
POSTing the same request over and over for ``--seconds``; prints one JSON line of results.

Run it as its own process (``python -m bench.load``, as :mod:`bench.http` does), so that its
work is not charged to the server under test, with the standard library only. Each thread
waits for an answer before sending the next request (a closed loop), so the concurrency is
exactly the number of requests in flight. The process reports its own CPU time, so a reader
can see it was not the bottleneck.
"""

import argparse
import http.client
import json
import sys
import threading
import time


def _worker(args, deadline: float, latencies: list, errors: list) -> None:
    connection = http.client.HTTPConnection(args.host, args.port, timeout=60)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {args.token}",
        "Connection": "keep-alive",
    }
    body = args.body.encode()
    while (started := time.perf_counter()) < deadline:
        try:
            connection.request("POST", args.path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            errors.append(repr(error))
            connection.close()
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or b'"errors"' in content:
            errors.append(f"{response.status}: {content[:200]!r}")
    connection.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", required=True, help="The JSON request body.")
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args(argv)
    per_thread = [[] for _ in range(args.concurrency)]
    errors: list[str] = []
    cpu_started, started = time.process_time(), time.perf_counter()
    deadline = started + args.seconds
    threads = [
        threading.Thread(target=_worker, args=(args, deadline, latencies, errors))
        for latencies in per_thread
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = [latency for thread_latencies in per_thread for latency in thread_latencies]
    json.dump(
        {
            "requests": len(latencies),
            "seconds": elapsed,
            "latencies": latencies,
            "errors": errors[:5],
            "error_count": len(errors),
            "cpu_seconds": time.process_time() - cpu_started,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
