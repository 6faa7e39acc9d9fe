"""python -m synthetic --seed 7 --out DIR [--months 12 --volume 1.0 --sites 3 --start 2025-01-01 --csv]

Writes DIR/events/<process>.parquet (and .csv with --csv), DIR/cases.parquet and DIR/manifest.json; with
--sources also the raw source records: DIR/odoo/<model>.json (Odoo 17) and DIR/mail/mail.mbox + DIR/mail/Maildir.
"""

from __future__ import annotations

import argparse
import sys
import time

from synthetic.export import write_all
from synthetic.generate import generate


def main(argv: list[str] | None = None) -> int:
    """Generate a clinic network and write its files; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--volume", type=float, default=1.0)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--start", default="2025-01-01", help="first local day (YYYY-MM-DD)")
    parser.add_argument("--csv", action="store_true", help="also write CSV files")
    parser.add_argument("--sources", action="store_true", help="also write Odoo records and the mailbox")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    org = generate(seed=args.seed, months=args.months, sites=args.sites, volume=args.volume, start=args.start)
    generated = time.perf_counter()
    paths = write_all(org, args.out, ("parquet", "csv") if args.csv else ("parquet",))
    if args.sources:
        from synthetic.mailbox_export import write_mail
        from synthetic.odoo import write_odoo

        paths = [*paths, *write_odoo(org, f"{args.out}/odoo"), *write_mail(org, f"{args.out}/mail").values()]
    counts = org.manifest["counts"]
    for process in org.processes:
        print(f"{process}: {counts[process]['cases']:,} cases, {counts[process]['events']:,} events")
    print(f"{counts['events']:,} events in {generated - started:.1f} s; wrote {len(paths)} files to {args.out} "
          f"in {time.perf_counter() - generated:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
