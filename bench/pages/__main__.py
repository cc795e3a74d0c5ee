"""python -m bench.pages --db sqlite|postgresql [--requests 200] [--clients 1] [--employers 100]"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import add_database_arguments, bench_database_url
from bench.pages import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages",
        description="p50/p95/p99 and server CPU per request of the queue page (SPOC, lead, admin) "
                    "and the employer timeline (API and page).")
    add_database_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per endpoint")
    parser.add_argument("--clients", type=int, default=1, help="concurrent keep-alive connections")
    parser.add_argument("--employers", type=int, default=100, help="distinct employers whose timeline is loaded")
    parser.add_argument("--server-log", type=Path, help="keep the server's output (errors) in this file")
    args = parser.parse_args(argv)
    url = bench_database_url(args.db, args.path, args.url)
    report = run(url, requests=args.requests, clients=args.clients, workers=args.workers,
                 employers=args.employers, server_log=args.server_log,
                 on_result=lambda name, result: print(result.summary(name), flush=True))
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
