"""Command line: ``python -m helpers.datasets.imdb {load,build-fallback}``.

``load`` fetches (or finds) the reviews the notebooks will use and preprocesses them, so a
machine can be prepared ahead of a class; ``build-fallback`` rewrites the bundled corpus.
"""

from __future__ import annotations

import argparse

from helpers.datasets.imdb.fallback import FALLBACK_ARCHIVE, generate_reviews, write_archive
from helpers.datasets.imdb.load import load_imdb
from helpers.datasets.imdb.preprocess import preprocess_reviews


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.datasets.imdb")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="download/cache the reviews and their preprocessed words")
    load.add_argument("--source", help="URL, archive path or 'fallback' (default: IMDB_SOURCE or download)")
    commands.add_parser("build-fallback", help=f"regenerate {FALLBACK_ARCHIVE.name}")
    args = parser.parse_args(argv)

    if args.command == "load":
        data = load_imdb(args.source)
        preprocess_reviews(data.train_texts)
        preprocess_reviews(data.test_texts)
    else:
        out = write_archive(generate_reviews(), FALLBACK_ARCHIVE)
        print(f"Wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
