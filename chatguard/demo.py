"""``make demo``: a scripted multilingual conversation through the embedded library.

It shows, side by side, what the user typed, what the bot vendor receives, and what
the user gets back after the vendor's reply is restored. The demo bot answers from
the placeholders it was given, as a real NLP vendor would: it never sees a value.
"""

from __future__ import annotations

import shutil
import textwrap
import time
from typing import Final, TextIO

from chatguard.redact.redactor import Redactor
from chatguard.vendors.demo import demo_bot

#: (conversation, what the user types); synthetic people and values only.
SCRIPT: Final[tuple[tuple[str, str], ...]] = (
    ("web-en", "Hi, my name is Emma Clarke, I need to change my flight LH 1173 to Frankfurt."),
    ("web-en", "My booking code is X7KQ2P and you can reach me at emma.clarke@example.com"),
    ("web-en", "emma clarke again: please call +44 20 7946 0958, not my old number"),
    ("web-de", "Hallo, ich heiße Jonas Becker, Buchungscode QW3RT9, Flug nach Lissabon am 12.05."),
    ("web-de", "Erstattung bitte auf IBAN DE89 3704 0044 0532 0130 00, danke!"),
    ("msgr-pt", "Olá, chamo-me joão ferreira e o meu bilhete é 220-1234567890."),
    ("msgr-pt", "O meu email é joao dot ferreira at example dot pt"),
    ("web-it", "Buongiorno, sono Giulia Bianchi, il volo per Roma costa 129,99 EUR?"),
    ("web-fr", "Bonjour, je m'appelle Camille Dubois, né le 03/04/1988, siège 23A."),
    ("web-es", "Hola, me llamo Lucía Romero, mi tarjeta 4111 1111 1111 1111 fue rechazada."),
)


async def run_demo(out: TextIO, width: int | None = None) -> int:
    """Play ``SCRIPT`` through a real ``Redactor`` and print the three views of each turn."""
    started = time.perf_counter()
    redactor = Redactor()
    out.write(f"chatguard demo: engine loaded in {time.perf_counter() - started:.1f} s\n\n")
    total = width or shutil.get_terminal_size((150, 40)).columns
    column = max(24, (total - 6) // 3)
    _row(out, column, "user typed", "bot vendor receives", "user gets back")
    _row(out, column, "-" * column, "-" * column, "-" * column)
    try:
        for conversation, typed in SCRIPT:
            result = await redactor.redact(typed, conversation=conversation)
            reply = demo_bot(result.text, result.language)
            restored = await redactor.restore(reply, conversation=conversation)
            _row(out, column, f"[{conversation} {result.language}] {typed}", result.text,
                 f"(bot: {reply})\n{restored}")  # fmt: skip
            out.write("\n")
    finally:
        redactor.close()
    return 0


def _row(out: TextIO, width: int, *cells: str) -> None:
    wrapped = [
        [line for part in cell.split("\n") for line in (textwrap.wrap(part, width) or [""])]
        for cell in cells
    ]
    for i in range(max(len(lines) for lines in wrapped)):
        out.write(
            " | ".join((lines[i] if i < len(lines) else "").ljust(width) for lines in wrapped)
            + "\n"
        )
