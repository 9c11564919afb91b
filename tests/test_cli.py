"""The command line, run as a real process: `chatguard redact` and `chatguard redact --jsonl`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHATGUARD = [sys.executable, "-m", "chatguard.cli"]
EMAIL = "anna.keller@example.org"


def test_redact_prints_stdin_redacted() -> None:
    done = subprocess.run(
        [*CHATGUARD, "redact"],
        input=f"please write to {EMAIL}",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout == "please write to <EMAIL_ADDRESS_1>"
    assert EMAIL not in done.stderr


@pytest.fixture
def jsonl() -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*CHATGUARD, "redact", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    process.kill()
    process.wait()


def _exchange(process: subprocess.Popen[str], line: str) -> dict[str, object]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    answer: dict[str, object] = json.loads(process.stdout.readline())
    return answer


def test_jsonl_answers_each_line_as_soon_as_it_is_processed(
    jsonl: subprocess.Popen[str],
) -> None:
    text = f"mail {EMAIL} now"
    first = _exchange(jsonl, json.dumps({"id": 7, "text": text, "lang": "en"}))
    assert first == {
        "id": 7,
        "lang": "en",
        "redacted": "mail <EMAIL_ADDRESS_1> now",
        "entities": [{"type": "EMAIL_ADDRESS", "start": 5, "end": 5 + len(EMAIL), "score": 1.0}],
    }
    # The process is still running: the answer came before stdin was closed.
    assert jsonl.poll() is None


def test_jsonl_bad_line_gets_an_error_line_and_processing_goes_on(
    jsonl: subprocess.Popen[str],
) -> None:
    broken = _exchange(jsonl, '{"text": "mail ' + EMAIL)
    assert broken["line"] == 1 and "invalid JSON" in str(broken["error"])
    assert EMAIL not in json.dumps(broken)
    no_text = _exchange(jsonl, json.dumps({"message": "hi"}))
    assert no_text["line"] == 2 and "text" in str(no_text["error"])
    fine = _exchange(jsonl, json.dumps({"text": "call +49 151 23456789"}))
    assert fine["redacted"] == "call <PHONE_NUMBER_1>"
    assert jsonl.stdin is not None
    jsonl.stdin.close()
    assert jsonl.wait(timeout=30) == 1  # some lines failed


def test_jsonl_offsets_point_into_the_input_text(jsonl: subprocess.Popen[str]) -> None:
    text = "Hallo, ich heiße Anna Keller, meine IBAN ist DE89 3704 0044 0532 0130 00"
    answer = _exchange(jsonl, json.dumps({"text": text}))
    entities = answer["entities"]
    assert isinstance(entities, list)
    spans = {(e["type"], text[e["start"] : e["end"]]) for e in entities}
    assert ("IBAN_CODE", "DE89 3704 0044 0532 0130 00") in spans
    assert ("PERSON", "Anna Keller") in spans
