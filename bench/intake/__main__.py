"""python -m bench.intake --db sqlite|postgresql [--clients 4,8,16,32] [--requests 5000] [--workers N]"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import add_database_arguments, bench_database_url
from bench.intake import run


def _counts(value: str) -> tuple[int, ...]:
    counts = tuple(int(v) for v in value.split(",") if v.strip())
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("give one or more positive client counts, e.g. 4,8,16,32")
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake",
        description="POST /api/touch-requests throughput and p50/p95/p99 against a real server, "
                    "with GET /healthz of the same server as the ceiling.")
    add_database_arguments(parser)
    parser.add_argument("--clients", type=_counts, default=(32,),
                        help="concurrent keep-alive connections; a list (4,8,16,32) measures each in turn")
    parser.add_argument("--requests", type=int, default=5000, help="measured intake requests per client count")
    parser.add_argument("--partners", type=int, default=64, help="partner users (one token each)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each measurement")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="uvicorn's HTTP parser (auto: httptools when installed)")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                        help="uvicorn's event loop (auto: uvloop when installed)")
    parser.add_argument("--server-log", type=Path, help="keep the server's output (errors) in this file")
    args = parser.parse_args(argv)
    url = bench_database_url(args.db, args.path, args.url)
    report = run(url, requests=args.requests, clients=args.clients, workers=args.workers,
                 partners=args.partners, warmup=args.warmup, seed=args.seed, server_log=args.server_log,
                 http=args.http, loop=args.loop)
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
