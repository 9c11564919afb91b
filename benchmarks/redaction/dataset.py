"""The redaction evaluation set: synthetic customer-service chat messages with gold spans.

``python -m benchmarks.redaction.dataset`` regenerates ``dataset.jsonl`` (same seed,
same file) and prints a sample with the spans marked; ``load_dataset`` reads it.

Every message comes from a hand-written template (:mod:`.templates`) whose slots
are filled with synthetic values (:mod:`.values`). Span offsets are computed while
the text is assembled, never searched for afterwards, and checked:
``text[start:end]`` is exactly the inserted value.

One record a line::

    {"id": "pt-0007", "lang": "pt", "domain": "airline", "text": "...",
     "spans": [{"type": "PERSON", "start": 14, "end": 27}]}

Span conventions: a name span covers the name only, not a title (Herr, Sra., Dr);
a date-of-birth span covers the date, not "born on"; an obfuscated value
(zero-width characters, full-width digits, "name at domain dot com") is covered
whole, as it appears in the original text.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchmarks.redaction.templates import TEMPLATES
from benchmarks.redaction.values import NEGATIVE, PERSONAL, SlotContext

#: The entity types of the benchmark, exactly as the engines must name them.
ENTITY_TYPES: Final[tuple[str, ...]] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "BOOKING_REFERENCE",
    "TICKET_NUMBER",
    "FREQUENT_FLYER_NUMBER",
    "PASSPORT_NUMBER",
    "NATIONAL_ID",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "CREDENTIAL",
)
LANGUAGES: Final[tuple[str, ...]] = ("en", "de", "fr", "it", "pt", "es")
SEED: Final[int] = 20250611
FILLS_PER_TEMPLATE: Final[int] = 4
DATASET_PATH: Final[Path] = Path(__file__).with_name("dataset.jsonl")

_SLOT: Final[re.Pattern[str]] = re.compile(r"\{([A-Za-z_]+)(?::([a-z_0-9]+))?\}")
_DOMAINS: Final[dict[str, str]] = {"A": "airline", "R": "retail"}


@dataclass(frozen=True, order=True)
class Span:
    """A half-open character range ``[start, end)`` of one entity type."""

    start: int
    end: int
    type: str

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Message:
    """One chat message of the evaluation set and its gold spans."""

    id: str
    lang: str
    domain: str
    text: str
    spans: tuple[Span, ...]

    def to_json(self) -> str:
        """One JSON line, keys in the documented order, non-ASCII kept as is."""
        record = {
            "id": self.id,
            "lang": self.lang,
            "domain": self.domain,
            "text": self.text,
            "spans": [{"type": s.type, "start": s.start, "end": s.end} for s in self.spans],
        }
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Message:
        """Parse a line written by :meth:`to_json`."""
        record = json.loads(line)
        spans = tuple(Span(s["start"], s["end"], s["type"]) for s in record["spans"])
        return cls(record["id"], record["lang"], record["domain"], record["text"], spans)


def fill_template(template: str, lang: str, rng: random.Random) -> tuple[str, list[Span]]:
    """Fill every slot of ``template`` and return the text and the gold spans.

    Upper-case slots get a span of their type covering exactly the inserted value;
    lower-case slots (negatives) get none. Raises ``ValueError`` on an unknown slot
    or if a span does not reproduce its value.
    """
    ctx = SlotContext(rng, lang)
    parts: list[str] = []
    inserted: list[tuple[Span, str]] = []
    position = cursor = 0
    for match in _SLOT.finditer(template):
        literal = template[cursor : match.start()]
        parts.append(literal)
        position += len(literal)
        name, variant = match.group(1), match.group(2) or ""
        if name in PERSONAL:
            value = PERSONAL[name](ctx, variant)
            inserted.append((Span(position, position + len(value), name), value))
        elif name in NEGATIVE:
            value = NEGATIVE[name](ctx, variant)
        else:
            raise ValueError(f"unknown slot {name!r} in template {template!r}")
        parts.append(value)
        position += len(value)
        cursor = match.end()
    parts.append(template[cursor:])
    text = "".join(parts)
    for span, value in inserted:
        if text[span.start : span.end] != value or value != value.strip() or not value:
            raise ValueError(f"span {span} does not reproduce its value in {template!r}")
    return text, [span for span, _ in inserted]


def build_dataset(seed: int = SEED, fills: int = FILLS_PER_TEMPLATE) -> list[Message]:
    """Return the whole evaluation set; the same ``seed`` always gives the same set."""
    rng = random.Random(seed)
    messages: list[Message] = []
    for lang in LANGUAGES:
        counter = 0
        for template in TEMPLATES[lang]:
            domain_code, body = template.split("|", 1)
            for _ in range(fills):
                text, spans = fill_template(body, lang, rng)
                messages.append(
                    Message(
                        f"{lang}-{counter:04d}", lang, _DOMAINS[domain_code], text, tuple(spans)
                    )
                )
                counter += 1
    return messages


def write_dataset(messages: list[Message], path: Path = DATASET_PATH) -> None:
    """Write ``messages`` as JSON lines to ``path``."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for message in messages:
            handle.write(message.to_json() + "\n")


def load_dataset(path: Path = DATASET_PATH) -> list[Message]:
    """Read the evaluation set written by :func:`write_dataset`."""
    with path.open(encoding="utf-8") as handle:
        return [Message.from_json(line) for line in handle if line.strip()]


def mark_spans(message: Message) -> str:
    """The message text with each gold span shown as ``[[TYPE: value]]`` (for reading)."""
    out: list[str] = []
    cursor = 0
    for span in sorted(message.spans):
        out.append(message.text[cursor : span.start])
        value = message.text[span.start : span.end].encode("unicode_escape").decode("ascii")
        out.append(f"[[{span.type}: {value}]]")
        cursor = span.end
    out.append(message.text[cursor:])
    return "".join(out)


def main() -> None:
    """Regenerate ``dataset.jsonl`` and print a random sample with spans marked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=30, help="messages to print")
    parser.add_argument("--check", action="store_true", help="only check the file is current")
    args = parser.parse_args()
    messages = build_dataset()
    if args.check:
        current = DATASET_PATH.read_text(encoding="utf-8")
        fresh = "".join(m.to_json() + "\n" for m in messages)
        raise SystemExit(0 if current == fresh else "dataset.jsonl is not current")
    write_dataset(messages)
    by_lang = {lang: sum(m.lang == lang for m in messages) for lang in LANGUAGES}
    print(f"wrote {len(messages)} messages to {DATASET_PATH}: {by_lang}")
    for message in random.Random(args.sample).sample(messages, args.sample):
        print(f"{message.id:8} {mark_spans(message)}")


if __name__ == "__main__":
    main()
