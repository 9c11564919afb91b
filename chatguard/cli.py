"""The ``chatguard`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from chatguard.errors import ChatguardError


def _redactor(config: Path | None) -> Any:
    # Imported late: loading the engine takes a second, `--help` should not.
    from chatguard.redact.redactor import Redactor
    from chatguard.settings import load_settings

    return Redactor(load_settings(config))


async def redact_plain(
    source: TextIO, sink: TextIO, *, config: Path | None, lang: str | None, destination: str
) -> int:
    """Redact all of ``source`` as one message and write it to ``sink``."""
    redactor = _redactor(config)
    try:
        result = await redactor.redact(
            source.read(), conversation="cli", lang=lang, destination=destination
        )
        sink.write(result.text)
        sink.flush()
    finally:
        redactor.close()
    return 0


async def redact_jsonl(
    source: TextIO, sink: TextIO, *, config: Path | None, lang: str | None, destination: str
) -> int:
    """Redact one JSON object per line; write one JSON line per input as soon as it is done.

    Input: ``{"text": ..., "lang": optional, "conversation": optional, any other keys}``.
    Output: the input's keys except ``text``, plus ``redacted`` and ``entities``
    (``type``, ``start``, ``end``, ``score``; offsets into the input text). A line
    that is not a JSON object with a string ``text`` yields ``{"line": n, "error": ...}``
    and processing goes on. Returns 1 if any line failed, else 0.
    """
    redactor = _redactor(config)
    failed = False
    try:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                output = await _redact_record(redactor, line, number, lang, destination)
            except (ValueError, ChatguardError) as exc:
                failed = True
                output = {"line": number, "error": _describe(exc)}
            sink.write(json.dumps(output, ensure_ascii=False) + "\n")
            sink.flush()
    finally:
        redactor.close()
    return 1 if failed else 0


async def _redact_record(
    redactor: Any, line: str, number: int, lang: str | None, destination: str
) -> dict[str, Any]:
    record = json.loads(line)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError('each line must be a JSON object with a string "text"')
    record_lang = record.get("lang") or lang
    result = await redactor.redact(
        record["text"],
        conversation=str(record.get("conversation", f"line-{number}")),
        lang=record_lang,
        destination=destination,
    )
    output = {key: value for key, value in record.items() if key != "text"}
    output["redacted"] = result.text
    output["entities"] = [
        {"type": e.type, "start": e.start, "end": e.end, "score": round(e.score, 4)}
        for e in result.entities
    ]
    return output


def _describe(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at column {exc.colno}: {exc.msg}"  # position only, no content
    return str(exc)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``chatguard``."""
    parser = argparse.ArgumentParser(prog="chatguard", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    redact = commands.add_parser("redact", help="redact text read on stdin")
    redact.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    redact.add_argument("--lang", help="language of the input (detected when omitted)")
    redact.add_argument("--destination", default="nlp", help="policy to apply (default: nlp)")

    demo = commands.add_parser("demo", help="a scripted multilingual conversation")
    demo.add_argument("--width", type=int, default=0, help="terminal width (default: detect)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "redact":
            run = redact_jsonl if args.jsonl else redact_plain
            return asyncio.run(
                run(
                    sys.stdin,
                    sys.stdout,
                    config=args.config,
                    lang=args.lang,
                    destination=args.destination,
                )
            )
        from chatguard.demo import run_demo

        return asyncio.run(run_demo(sys.stdout, width=args.width or None))
    except ChatguardError as exc:
        print(f"chatguard: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
