"""python -m bench.matching FILE.csv --id-col C --truth-col C --name-col C [...]
python -m bench.matching --synthetic 250000"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.matching import SYNTHETIC_COLUMNS, Columns, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.matching",
        description="Pairwise precision/recall/F1 of the employer matcher against a truth column.",
    )
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--id-col")
    parser.add_argument("--truth-col")
    parser.add_argument("--name-col")
    parser.add_argument("--address-col")
    parser.add_argument("--zip-col")
    parser.add_argument("--phone-col")
    parser.add_argument("--website-col")
    parser.add_argument("--city-col")
    parser.add_argument(
        "--synthetic", type=int, default=0, metavar="N",
        help="instead of a file: N generated establishments plus 10%% noisy duplicates (scale test)",
    )
    args = parser.parse_args(argv)
    if args.synthetic:
        for line in run(None, SYNTHETIC_COLUMNS, synthetic=args.synthetic):
            print(line)
        return
    if not (args.file and args.id_col and args.truth_col and args.name_col):
        parser.error("FILE, --id-col, --truth-col and --name-col are required (or use --synthetic N)")
    cols = Columns(
        id=args.id_col,
        truth=args.truth_col,
        name=args.name_col,
        address=args.address_col,
        zip=args.zip_col,
        phone=args.phone_col,
        website=args.website_col,
        city=args.city_col,
    )
    for line in run(args.file, cols):
        print(line)


if __name__ == "__main__":
    main()
