"""The ``chatguard`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from chatguard.errors import ChatguardError, ConfigurationError
from chatguard.settings import load_settings

if TYPE_CHECKING:
    from chatguard.sampling import QualitySampler
    from chatguard.settings import Settings
    from chatguard.store.base import Store
    from chatguard.store.records import TranscriptEvent
    from chatguard.subject import SubjectRights


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


# --- state: sweep, the person's rights, troubleshooting, analytics ---------------------


@asynccontextmanager
async def _opened_store(settings: Settings) -> AsyncIterator[Store]:
    from chatguard.clock import SystemClock
    from chatguard.store import open_store

    store = await open_store(settings.store.url, SystemClock())
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _subject_rights(config: Path | None) -> AsyncIterator[SubjectRights]:
    """The person's rights over the configured store, with the configured keys."""
    from chatguard.clock import SystemClock
    from chatguard.pseudonym import IdentityMap, load_keys
    from chatguard.retention import RetentionPolicy
    from chatguard.settings import load_settings
    from chatguard.subject import SubjectRights

    settings = load_settings(config)
    keys = load_keys(settings)
    if keys.ephemeral:
        raise ConfigurationError(
            "reading stored records needs the configured keys: set "
            "CHATGUARD_STORE__ENCRYPTION_KEY and CHATGUARD_PSEUDONYM__KEY"
        )
    clock = SystemClock()
    async with _opened_store(settings) as store:
        yield SubjectRights(
            store,
            keys.store,
            IdentityMap(store, keys.store, keys.pseudonyms),
            clock,
            RetentionPolicy(settings.retention, clock),
        )


@asynccontextmanager
async def _quality_sampler(config: Path | None) -> AsyncIterator[QualitySampler]:
    """The quality sampler over the configured store (samples and transcripts are
    stored redacted and consents in clear: no key is needed to read them)."""
    from chatguard.clock import SystemClock
    from chatguard.consent import ConsentLedger
    from chatguard.retention import RetentionPolicy
    from chatguard.sampling import QualitySampler

    settings = load_settings(config)
    clock = SystemClock()
    policy = RetentionPolicy(settings.retention, clock)
    consent = settings.consent
    async with _opened_store(settings) as store:
        ledger = ConsentLedger(store, policy, clock, purposes=consent.purposes)
        yield QualitySampler(
            store, ledger, policy, clock, rate=consent.sampling_rate, seed=consent.sampling_seed
        )


def _write_json(sink: TextIO, document: object) -> None:
    sink.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    sink.flush()


async def sweep(sink: TextIO, *, config: Path | None) -> int:
    """Delete what has expired now, audit it, and print the counts per record kind."""
    from chatguard.clock import SystemClock
    from chatguard.retention import RetentionSweeper
    from chatguard.settings import load_settings

    settings = load_settings(config)
    async with _opened_store(settings) as store:
        deleted = await RetentionSweeper(
            store, SystemClock(), settings.retention.audit
        ).sweep_once()
    _write_json(sink, {"deleted": {kind.value: count for kind, count in sorted(deleted.items())}})
    return 0


async def subject_export(sink: TextIO, *, config: Path | None, subject: dict[str, str]) -> int:
    """Print everything held about the subject as one JSON document."""
    async with _subject_rights(config) as rights:
        document = await rights.export(**subject)
    _write_json(sink, document)
    return 0


async def subject_erase(sink: TextIO, *, config: Path | None, subject: dict[str, str]) -> int:
    """Erase everything held about the subject and print the counts per record kind."""
    async with _subject_rights(config) as rights:
        erased = await rights.erase(**subject)
    _write_json(sink, {"erased": {kind.value: count for kind, count in sorted(erased.items())}})
    return 0


async def transcript_show(
    sink: TextIO, *, config: Path | None, session: str, reason: str, actor: str | None
) -> int:
    """Print a conversation's (redacted) transcript; refused without a reason, audited."""
    _require_reason(reason, "show a transcript")
    async with _subject_rights(config) as rights:
        events = await rights.transcript_show(session, reason, actor)
    _write_transcript(sink, session, events)
    return 0


def _write_transcript(sink: TextIO, session: str, events: Sequence[TranscriptEvent]) -> None:
    """A conversation's (redacted) transcript as ``transcript show`` and ``samples show``
    print it."""
    from chatguard.subject import event_to_json

    _write_json(sink, {"session": session, "events": [event_to_json(e) for e in events]})


def _require_reason(reason: str, what: str) -> None:
    """Refuse before keys or the store are even touched."""
    from chatguard.errors import ReasonRequiredError

    if not reason.strip():
        raise ReasonRequiredError(f'a reason is required to {what}: --reason "..." (it is audited)')


async def samples_list(
    sink: TextIO, *, config: Path | None, reviewer: str | None, reason: str
) -> int:
    """Print the quality samples whose sessions' consent is granted; with a reason, audited."""
    from chatguard.sampling import sample_to_json

    _require_reason(reason, "list quality samples")
    async with _quality_sampler(config) as sampler:
        samples = await sampler.samples(reviewer, reason)
    _write_json(sink, {"samples": [sample_to_json(sample) for sample in samples]})
    return 0


async def samples_show(
    sink: TextIO, *, config: Path | None, session: str, reviewer: str | None, reason: str
) -> int:
    """Print a sampled conversation's (redacted) transcript; with a reason, audited."""
    _require_reason(reason, "read a quality sample")
    async with _quality_sampler(config) as sampler:
        events = await sampler.read(session, reviewer, reason)
    _write_transcript(sink, session, events)
    return 0


async def samples_delete(
    sink: TextIO, *, config: Path | None, session: str, reviewer: str | None, reason: str
) -> int:
    """Take a session out of the quality sample (the conversation stays); print
    whether it was sampled. With a reason, audited."""
    _require_reason(reason, "take a conversation out of the quality sample")
    async with _quality_sampler(config) as sampler:
        deleted = await sampler.remove(session, reviewer, reason)
    _write_json(sink, {"deleted": deleted})
    return 0


async def export_analytics(
    sink: TextIO, *, config: Path | None, since: datetime, until: datetime
) -> int:
    """Write the anonymised transcripts of ``[since, until)`` as JSON lines."""
    async with _subject_rights(config) as rights:
        rows = await rights.analytics_export(since, until)
    for row in rows:
        sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    sink.flush()
    return 0


def _moment(text: str) -> datetime:
    """A date (``2026-01-01``, midnight UTC) or ISO datetime (UTC when no zone is given)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or ISO datetime: {text!r} (like 2026-01-01)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _add_subject_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", help="channel of the user id (messenger, web, ...)")
    parser.add_argument("--user-id", help="the channel's user id (Messenger PSID, ...)")
    parser.add_argument("--session", help="a session pseudonym (guest-...)")


def _subject(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """``{"channel", "user_id"}`` or ``{"session"}`` from the arguments, else a usage error."""
    if args.session is not None and args.channel is None and args.user_id is None:
        return {"session": args.session}
    if args.session is None and args.channel and args.user_id:
        return {"channel": args.channel, "user_id": args.user_id}
    parser.error("name the subject with --channel and --user-id, or with --session")


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

    commands.add_parser("serve", help="run the service until SIGINT or SIGTERM")

    commands.add_parser("sweep", help="delete what has expired now (audited as counts)")

    subject = commands.add_parser("subject", help="the person's rights: access, erasure")
    subject_commands = subject.add_subparsers(dest="subject_command", required=True)
    export = subject_commands.add_parser("export", help="everything held, as one JSON document")
    _add_subject_arguments(export)
    erase = subject_commands.add_parser("erase", help="erase everything held (audited)")
    _add_subject_arguments(erase)

    transcript = commands.add_parser("transcript", help="troubleshooting access to transcripts")
    transcript_commands = transcript.add_subparsers(dest="transcript_command", required=True)
    show = transcript_commands.add_parser("show", help="show one transcript, with a reason")
    show.add_argument("session", metavar="PSEUDONYM", help="the session pseudonym")
    show.add_argument("--reason", default="", help="why (required; written to the audit log)")
    show.add_argument("--actor", help="who is looking (default: the login name)")

    samples = commands.add_parser("samples", help="quality samples (with consent), for reviewers")
    samples_commands = samples.add_subparsers(dest="samples_command", required=True)
    listing = samples_commands.add_parser("list", help="the sampled sessions, with a reason")
    showing = samples_commands.add_parser("show", help="one sampled transcript, with a reason")
    deleting = samples_commands.add_parser(
        "delete", help="take a session out of the sample, with a reason"
    )
    for one in (showing, deleting):
        one.add_argument("session", metavar="SESSION", help="the session pseudonym")
    for reviewing in (listing, showing, deleting):
        reviewing.add_argument(
            "--reason", default="", help="why (required; written to the audit log)"
        )
        reviewing.add_argument("--reviewer", help="who is looking (default: the login name)")

    exports = commands.add_parser("export", help="anonymised exports")
    export_commands = exports.add_subparsers(dest="export_command", required=True)
    analytics = export_commands.add_parser(
        "analytics", help="transcripts of a time range, anonymised, as JSON lines"
    )
    analytics.add_argument("--since", type=_moment, required=True, help="from (inclusive)")
    analytics.add_argument("--until", type=_moment, required=True, help="to (exclusive)")
    return parser


def _login_name() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a chatguard error, whose
    one-line message on stderr carries no personal data)."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
        if args.command == "demo":
            from chatguard.demo import run_demo

            return asyncio.run(run_demo(sys.stdout, width=args.width or None))
        if args.command == "serve":
            from chatguard.server.app import serve

            serve(load_settings(args.config))
            return 0
        return asyncio.run(_run_state_command(parser, args))
    except ChatguardError as exc:
        print(f"chatguard: {exc}", file=sys.stderr)
        return 2


async def _run_state_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    out, config = sys.stdout, args.config
    if args.command == "sweep":
        return await sweep(out, config=config)
    if args.command == "subject":
        run = subject_export if args.subject_command == "export" else subject_erase
        return await run(out, config=config, subject=_subject(parser, args))
    if args.command == "transcript":
        actor = args.actor or _login_name()
        return await transcript_show(
            out, config=config, session=args.session, reason=args.reason, actor=actor
        )
    if args.command == "samples":
        reviewer = args.reviewer or _login_name()
        if args.samples_command == "list":
            return await samples_list(out, config=config, reviewer=reviewer, reason=args.reason)
        if args.samples_command == "delete":
            return await samples_delete(
                out, config=config, session=args.session, reviewer=reviewer, reason=args.reason
            )
        return await samples_show(
            out, config=config, session=args.session, reviewer=reviewer, reason=args.reason
        )
    return await export_analytics(out, config=config, since=args.since, until=args.until)


if __name__ == "__main__":
    sys.exit(main())
