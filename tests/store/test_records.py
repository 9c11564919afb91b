"""The records' own rules, without a store: a ``DialogueChange`` names what it changes
and keeps a question together with its deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatguard.store.records import KEEP, NOTHING_AWAITED, Conversation, DialogueChange

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_dialogue_change_names_only_the_fields_it_sets_and_none_clears() -> None:
    change = DialogueChange(language="pt", reference=None)
    assert change.changes == {"language": "pt", "reference": None}
    assert DialogueChange().changes == {}
    assert NOTHING_AWAITED.changes == {
        "awaiting": None,
        "awaiting_since": None,
        "awaiting_until": None,
    }
    held = Conversation("guest-a", "web", None, NOW, NOW, NOW, reference="digest", language="de")
    assert change.applied_to(held) == Conversation(
        "guest-a", "web", None, NOW, NOW, NOW, language="pt"
    )


@pytest.mark.parametrize(
    "trio",
    [
        ("consent_answer", NOW, KEEP),
        ("consent_answer", None, NOW),
        (KEEP, None, None),
        (None, NOW, NOW + timedelta(minutes=2)),
    ],
)
def test_a_question_changes_only_together_with_its_times(trio: tuple[object, ...]) -> None:
    awaiting, since, until = trio
    with pytest.raises(ValueError, match="together"):
        DialogueChange(awaiting=awaiting, awaiting_since=since, awaiting_until=until)  # type: ignore[arg-type]
