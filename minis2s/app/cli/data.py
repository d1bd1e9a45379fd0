"""``minis2s data``: list the corpora (shipped, fetched, fetchable); ``minis2s data fetch PAIR``."""
from __future__ import annotations

import argparse
import sys

from ..fetch import TATOEBA_URL, URL_ENV, fetch, listing


def add_parser(sub) -> None:
    d = sub.add_parser(
        "data", help="list the corpora; fetch other Tatoeba language pairs",
        description="Without a subcommand: list the corpora that --data NAME accepts (shipped "
                    "with minis2s, or fetched into the cache folder) and those that can be fetched.")
    d.set_defaults(func=run)
    dsub = d.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.add_parser("list", help="list the corpora (the default)",
                    description="List the corpora.").set_defaults(func=run)
    f = dsub.add_parser(
        "fetch", help="download a Tatoeba language pair into the cache folder",
        description=f"Download PAIR (e.g. fra-eng) from {TATOEBA_URL} (Tatoeba sentence pairs, "
                    "CC-BY 2.0 FR) into the cache folder ($MINIS2S_CACHE, default "
                    "~/.cache/minis2s); afterwards --data tatoeba-PAIR uses it. The zip's sha256 "
                    "is checked against a known or recorded one (recorded at the first fetch); "
                    f"{URL_ENV} replaces the base URL (a mirror).")
    f.add_argument("pair", metavar="PAIR", help="a language paired with English: fra-eng, deu-eng, ...")
    f.add_argument("--sha256", metavar="HEX", help="the sha256 the zip must have (overrides a "
                   "known or recorded one)")
    f.add_argument("--force", action="store_true", help="download again even if it is in the cache")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    f.set_defaults(func=run_fetch)


def run(args: argparse.Namespace, command: str) -> int:
    print("\n".join(listing()))
    return 0


def run_fetch(args: argparse.Namespace, command: str) -> int:
    fetch(args.pair, sha256=args.sha256, force=args.force,
          progress=not args.no_progress and sys.stderr.isatty())
    return 0
