"""The state commands of the command line, run as real processes against a SQLite
file, with the keys given through the environment as in production:
`chatguard sweep`, `subject export|erase`, `transcript show`, `samples list|show|delete`,
`export analytics`."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatguard.clock import Clock, ManualClock, SystemClock
from chatguard.consent import ConsentLedger, Decision, Purpose, Source
from chatguard.crypto import KeyRing
from chatguard.pseudonym import IdentityMap, UserPseudonyms, new_session_pseudonym
from chatguard.redact.vault import VaultEntry
from chatguard.retention import RetentionPolicy
from chatguard.settings import RetentionSettings
from chatguard.store.records import (
    Author,
    Conversation,
    Direction,
    EventKind,
    RecordKind,
    Sample,
    TranscriptEvent,
)
from chatguard.store.sqlite import SqliteStore
from chatguard.store.vault import StoreVault

CHATGUARD = [sys.executable, "-m", "chatguard.cli"]
PSID = "7390115562048811"  # a synthetic Messenger page-scoped id
NAME = "Anna Keller"
WEB_NAME = "Jonas Becker"


@dataclass(frozen=True)
class Deployment:
    """A SQLite file and the environment a chatguard process runs with."""

    url: str
    env: dict[str, str]
    store_key: bytes
    pseudonym_key: bytes

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CHATGUARD, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    async def chat(
        self, clock: Clock, channel: str, user_id: str | None, value: str
    ) -> tuple[str, str | None]:
        """One conversation written as the pipeline writes it; ``(session, user)``."""
        store = SqliteStore(self.url, clock)
        await store.open()
        try:
            keyring = KeyRing(self.store_key)
            policy = RetentionPolicy(RetentionSettings(), clock)
            user = None
            if user_id is not None:
                identities = IdentityMap(store, keyring, UserPseudonyms([self.pseudonym_key]))
                user = await identities.remember(
                    channel, user_id, policy.expires_at(RecordKind.IDENTITIES)
                )
            session = new_session_pseudonym()
            now = clock.now()
            await store.save_conversation(
                Conversation(
                    session, channel, user, now, now, policy.expires_at(RecordKind.CONVERSATIONS)
                )
            )
            vault = StoreVault(store, keyring, clock, policy.retention(RecordKind.VAULT))
            [placeholder] = await vault.assign(
                session, [VaultEntry("PERSON", value.lower(), value)]
            )
            expires = policy.expires_at(RecordKind.TRANSCRIPTS)
            for event in (
                TranscriptEvent(
                    session, now, Direction.INBOUND, Author.USER, f"I am {placeholder}", expires
                ),
                TranscriptEvent(
                    session,
                    now,
                    Direction.INBOUND,
                    Author.USER,
                    "",
                    expires,
                    EventKind.FEEDBACK,
                    "up",
                ),
            ):
                await store.append_event(event)
            return session, user
        finally:
            await store.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    store_key, pseudonym_key = secrets.token_bytes(32), secrets.token_bytes(32)
    url = f"sqlite:///{tmp_path / 'chatguard.db'}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CHATGUARD_")  # nothing of the developer's own configuration
    }
    env.update(
        CHATGUARD_STORE__URL=url,
        CHATGUARD_STORE__ENCRYPTION_KEY=store_key.hex(),
        CHATGUARD_PSEUDONYM__KEY=pseudonym_key.hex(),
    )
    return Deployment(url, env, store_key, pseudonym_key)


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.returncode == 0, done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_sweep_deletes_what_expired_and_a_second_sweep_nothing(deployment: Deployment) -> None:
    past = ManualClock(datetime.now(UTC) - timedelta(days=40))
    asyncio.run(deployment.chat(past, "web", None, WEB_NAME))
    live, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))

    first = _json(deployment.run("sweep"))
    assert first == {
        "deleted": {"conversations": 1, "transcripts": 2, "vault": 1},
    }
    assert _json(deployment.run("sweep")) == {"deleted": {}}
    assert _json(deployment.run("subject", "export", "--session", live))["conversations"]


def test_subject_export_prints_everything_held_as_json(deployment: Deployment) -> None:
    _, user = asyncio.run(deployment.chat(SystemClock(), "messenger", PSID, NAME))

    document = _json(
        deployment.run("subject", "export", "--channel", "messenger", "--user-id", PSID)
    )

    assert document["identity"] == {"channel": "messenger", "user_id": PSID}
    assert document["subject"] == user
    [conversation] = document["conversations"]  # type: ignore[misc]
    assert conversation["values"]["<PERSON_1>"]["value"] == NAME
    assert [event["kind"] for event in conversation["events"]] == ["message", "feedback"]


def test_subject_erase_prints_counts_and_the_subject_is_gone(deployment: Deployment) -> None:
    session, _ = asyncio.run(deployment.chat(SystemClock(), "messenger", PSID, NAME))
    web, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))

    erased = _json(deployment.run("subject", "erase", "--channel", "messenger", "--user-id", PSID))

    assert erased == {
        "erased": {"conversations": 1, "identities": 1, "transcripts": 2, "vault": 1},
    }
    gone = deployment.run("subject", "export", "--session", session)
    assert gone.returncode == 2
    assert gone.stderr.count("\n") == 1 and "chatguard:" in gone.stderr
    assert PSID not in gone.stderr and session not in gone.stderr
    assert _json(deployment.run("subject", "export", "--session", web))["conversations"]


def test_subject_needs_one_way_of_naming_it(deployment: Deployment) -> None:
    done = deployment.run("subject", "export", "--channel", "messenger")
    assert done.returncode == 2
    assert "--channel and --user-id, or with --session" in done.stderr


def test_unknown_subject_is_one_line_without_the_identity(deployment: Deployment) -> None:
    done = deployment.run("subject", "erase", "--channel", "messenger", "--user-id", PSID)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "chatguard: nothing is held for that channel identity\n"


def test_transcript_show_is_refused_without_a_reason(deployment: Deployment) -> None:
    session, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))

    for reason in ([], ["--reason", "  "]):
        done = deployment.run("transcript", "show", session, *reason)
        assert done.returncode == 2
        assert done.stdout == ""
        assert "a reason is required" in done.stderr and session not in done.stderr


def test_transcript_show_prints_the_redacted_transcript_and_is_audited(
    deployment: Deployment,
) -> None:
    session, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))

    shown = _json(
        deployment.run(
            "transcript", "show", session, "--reason", "INC-4711 bot loops", "--actor", "ops"
        )
    )

    assert [event["text"] for event in shown["events"]] == ["I am <PERSON_1>", ""]  # type: ignore[attr-defined]
    assert WEB_NAME not in json.dumps(shown)

    async def audit() -> list[tuple[str, str | None, str | None]]:
        store = SqliteStore(deployment.url, SystemClock())
        await store.open()
        try:
            return [(e.action, e.actor, e.reason) for e in await store.audit_entries()]
        finally:
            await store.close()

    assert asyncio.run(audit()) == [("transcript_show", "ops", "INC-4711 bot loops")]


def test_export_analytics_writes_anonymised_json_lines(deployment: Deployment) -> None:
    session, user = asyncio.run(deployment.chat(SystemClock(), "messenger", PSID, NAME))
    today = datetime.now(UTC).date()
    since, until = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()

    first = deployment.run("export", "analytics", "--since", since, "--until", until)
    second = deployment.run("export", "analytics", "--since", since, "--until", until)

    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert [row["kind"] for row in rows] == ["message", "feedback"]
    assert rows[0]["text"] == "I am <PERSON_1>"
    assert rows[0]["hour"].endswith(":00:00+00:00")
    for personal in (NAME, PSID, session, str(user)):
        assert personal not in first.stdout
    other_ids = {json.loads(line)["conversation"] for line in second.stdout.splitlines()}
    assert rows[0]["conversation"] not in other_ids


def test_export_analytics_refuses_a_bad_date(deployment: Deployment) -> None:
    done = deployment.run("export", "analytics", "--since", "yesterday", "--until", "2026-02-01")
    assert done.returncode == 2
    assert "not a date" in done.stderr


def test_state_commands_refuse_to_run_without_keys(deployment: Deployment) -> None:
    env = {k: v for k, v in deployment.env.items() if not k.endswith("_KEY")}
    done = subprocess.run(
        [*CHATGUARD, "subject", "export", "--session", "guest-aaaaaaaaaaaa"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "CHATGUARD_STORE__ENCRYPTION_KEY" in done.stderr
    assert done.stderr.count("\n") == 1


# --- quality samples -------------------------------------------------------------------


async def _sampled(deployment: Deployment, session: str, *decisions: Decision) -> None:
    """The session's quality-sampling decisions, in order, and a sample of it."""
    clock = SystemClock()
    store = SqliteStore(deployment.url, clock)
    await store.open()
    try:
        policy = RetentionPolicy(RetentionSettings(), clock)
        ledger = ConsentLedger(store, policy, clock)
        for decision in decisions:
            await ledger.record(
                session, Purpose.QUALITY_SAMPLING, decision, Source.CHAT, None, "en"
            )
        await store.save_sample(Sample(session, clock.now(), policy.expires_at(RecordKind.SAMPLES)))
    finally:
        await store.close()


async def _audit_of(deployment: Deployment) -> list[tuple[str, str | None, str | None, str | None]]:
    store = SqliteStore(deployment.url, SystemClock())
    await store.open()
    try:
        return [(e.action, e.subject, e.actor, e.reason) for e in await store.audit_entries()]
    finally:
        await store.close()


def test_samples_list_shows_consenting_samples_only_and_is_audited(
    deployment: Deployment,
) -> None:
    kept, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))
    gone, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, NAME))
    asyncio.run(_sampled(deployment, kept, Decision.GRANTED))
    asyncio.run(_sampled(deployment, gone, Decision.GRANTED, Decision.WITHDRAWN))

    listed = _json(
        deployment.run("samples", "list", "--reason", "QA week 15", "--reviewer", "alice")
    )

    assert [sample["session"] for sample in listed["samples"]] == [kept]  # type: ignore[index]
    assert asyncio.run(_audit_of(deployment)) == [("sample_list", None, "alice", "QA week 15")]


def test_samples_show_prints_the_redacted_transcript_and_is_audited(
    deployment: Deployment,
) -> None:
    session, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))
    asyncio.run(_sampled(deployment, session, Decision.GRANTED))

    shown = _json(deployment.run("samples", "show", session, "--reason", "QA week 15"))

    assert shown["session"] == session
    assert [event["text"] for event in shown["events"]] == ["I am <PERSON_1>", ""]  # type: ignore[attr-defined]
    assert WEB_NAME not in json.dumps(shown)
    [(action, subject, reviewer, reason)] = asyncio.run(_audit_of(deployment))
    assert (action, subject, reason) == ("sample_read", session, "QA week 15")
    assert reviewer  # the login name when --reviewer is not given


def test_samples_delete_takes_the_session_out_keeps_the_conversation_and_is_audited(
    deployment: Deployment,
) -> None:
    session, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))
    asyncio.run(_sampled(deployment, session, Decision.GRANTED))
    delete = ("samples", "delete", session, "--reason", "QA: off-topic", "--reviewer", "alice")

    first, second = _json(deployment.run(*delete)), _json(deployment.run(*delete))

    assert (first, second) == ({"deleted": True}, {"deleted": False})
    listed = _json(deployment.run("samples", "list", "--reason", "QA week 15"))
    assert listed == {"samples": []}
    assert asyncio.run(_audit_of(deployment))[:2] == [
        ("sample_delete", session, "alice", "QA: off-topic"),
        ("sample_delete", session, "alice", "QA: off-topic"),
    ]
    assert (
        "I am <PERSON_1>" in deployment.run("transcript", "show", session, "--reason", "x").stdout
    )


def test_samples_are_refused_without_a_reason_and_unknown_ones_are_not_found(
    deployment: Deployment,
) -> None:
    session, _ = asyncio.run(deployment.chat(SystemClock(), "web", None, WEB_NAME))
    asyncio.run(_sampled(deployment, session, Decision.GRANTED, Decision.WITHDRAWN))

    for args in (["list"], ["list", "--reason", " "], ["show", session], ["delete", session]):
        done = deployment.run("samples", *args)
        assert done.returncode == 2 and done.stdout == ""
        assert "a reason is required" in done.stderr and session not in done.stderr
    withdrawn = deployment.run("samples", "show", session, "--reason", "QA week 15")
    assert withdrawn.returncode == 2 and withdrawn.stdout == ""
    assert withdrawn.stderr.count("\n") == 1 and session not in withdrawn.stderr
    assert asyncio.run(_audit_of(deployment)) == []
