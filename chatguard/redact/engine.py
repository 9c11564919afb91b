"""The detection engine: Presidio's analyzer with chatguard's recognisers, six languages.

``RedactionEngine`` is synchronous and CPU-bound; :class:`chatguard.Redactor` runs
it off the event loop. It finds personal data in the text as the user typed it,
after normalising evasions (zero-width characters, full-width digits, split
digits, spelled-out e-mail addresses), and reports offsets into the original.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts

from chatguard.errors import UnsupportedLanguageError
from chatguard.model import Entity, EntityType
from chatguard.redact.enhancer import ChatContextEnhancer
from chatguard.redact.languages import SUPPORTED_LANGUAGES, LanguageDetector
from chatguard.redact.nlp import ChatguardNlpEngine
from chatguard.redact.normalize import (
    NormalisedText,
    join_split_digits,
    normalise,
    split_digit_separators,
)
from chatguard.redact.recognizers import build_recognizers
from chatguard.redact.recognizers.predefined import build_predefined_recognizers
from chatguard.settings import RedactionSettings

logger = logging.getLogger(__name__)

# Presidio's debug and info messages can quote the words around a match; whatever
# level the application logs at, theirs stays at warnings (which quote no text).
for _name in ("presidio-analyzer", "presidio-anonymizer"):
    logging.getLogger(_name).setLevel(logging.WARNING)

#: Types whose recognisers are patterns over characters: the only ones run again on
#: the variant of a text whose split digits were joined.
DIGIT_TYPES: Final[tuple[str, ...]] = (
    EntityType.PHONE_NUMBER,
    EntityType.CREDIT_CARD,
    EntityType.IBAN_CODE,
    EntityType.TICKET_NUMBER,
    EntityType.FREQUENT_FLYER_NUMBER,
    EntityType.NATIONAL_ID,
)

#: Types whose every form holds a digit; a text without one skips their recognisers.
_NEED_A_DIGIT: Final = frozenset(
    {
        EntityType.PHONE_NUMBER,
        EntityType.CREDIT_CARD,
        EntityType.IBAN_CODE,
        EntityType.TICKET_NUMBER,
        EntityType.FREQUENT_FLYER_NUMBER,
        EntityType.PASSPORT_NUMBER,
        EntityType.NATIONAL_ID,
        EntityType.DATE_OF_BIRTH,
    }
)
#: What a text must contain for each of these types to occur in it at all.
_NEEDED: Final[dict[str, re.Pattern[str]]] = {
    EntityType.EMAIL_ADDRESS: re.compile("@"),
    EntityType.URL: re.compile(r"[\w-]\.[^\W\d_]{2}|://"),
    EntityType.IP_ADDRESS: re.compile(r"\d\.\d|:"),
}


@dataclass(frozen=True, slots=True)
class _ContextGate:
    """A type whose recognisers score at most ``max_score`` without a context word."""

    max_score: float
    words: re.Pattern[str]


def _context_gate(recognizers: Sequence[EntityRecognizer]) -> _ContextGate | None:
    """The gate of a type, if all its recognisers are plain patterns with context words.

    A ``PatternRecognizer`` that does not override ``validate_result`` never scores
    above its best pattern's score unless one of its context words is in the text.
    """
    words: set[str] = set()
    scores: list[float] = []
    for recognizer in recognizers:
        if (
            not isinstance(recognizer, PatternRecognizer)
            or type(recognizer).validate_result is not PatternRecognizer.validate_result
            or type(recognizer).analyze is not PatternRecognizer.analyze
            or not recognizer.context
        ):
            return None
        words.update(word.lower() for word in recognizer.context if word)
        patterns: list[Pattern] = recognizer.patterns  # type: ignore[has-type]
        scores.extend(pattern.score for pattern in patterns)
    if not words or not scores:
        return None
    alternatives = sorted(words, key=len, reverse=True)
    return _ContextGate(max(scores), re.compile("|".join(map(re.escape, alternatives))))


class _CachedRegistry(RecognizerRegistry):
    """Presidio's registry, remembering which recognisers serve a language and types.

    Presidio filters its whole list (90 recognisers here) on every analysis; the
    answer only changes when a recogniser is added, which clears what is remembered.
    """

    _MAX_REMEMBERED: Final = 1024

    def __init__(self, supported_languages: list[str]) -> None:
        super().__init__(supported_languages=supported_languages)
        self._remembered: dict[tuple[str, tuple[str, ...] | None, bool], list[EntityRecognizer]]
        self._remembered = {}

    def add_recognizer(self, recognizer: EntityRecognizer) -> None:
        """Add a recogniser and forget what was remembered."""
        self._remembered = {}
        super().add_recognizer(recognizer)

    def get_recognizers(
        self,
        language: str,
        entities: list[str] | None = None,
        all_fields: bool = False,
        ad_hoc_recognizers: list[EntityRecognizer] | None = None,
    ) -> list[EntityRecognizer]:
        """The recognisers for ``language`` and ``entities``, as Presidio's registry says."""
        if ad_hoc_recognizers:
            found: list[EntityRecognizer] = super().get_recognizers(
                language, entities, all_fields, ad_hoc_recognizers
            )
            return found
        key = (language, tuple(entities) if entities else None, all_fields)
        remembered = self._remembered.get(key)
        if remembered is None:
            if len(self._remembered) >= self._MAX_REMEMBERED:
                self._remembered = {}
            remembered = super().get_recognizers(language, entities, all_fields)
            self._remembered[key] = remembered
        return list(remembered)


class RedactionEngine:
    """Finds personal data in chat messages, in en, de, fr, it, pt and es.

    ``analyze`` returns non-overlapping entities sorted by position, with offsets
    into the text exactly as given. Every recogniser runs whatever the language;
    the language picks the NER model. Loading takes about a second; one engine is
    meant to be shared by a whole process.
    """

    def __init__(self, settings: RedactionSettings | None = None) -> None:
        self.settings = settings or RedactionSettings()
        self.nlp_engine = ChatguardNlpEngine(
            self.settings.models, self.settings.ner_on_other_languages
        )
        self.nlp_engine.load()
        registry = _CachedRegistry(supported_languages=list(SUPPORTED_LANGUAGES))
        for language in SUPPORTED_LANGUAGES:
            for recognizer in build_predefined_recognizers(language):
                registry.add_recognizer(recognizer)
            for recognizer in build_recognizers(language):
                registry.add_recognizer(recognizer)
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=self.nlp_engine,
            supported_languages=list(SUPPORTED_LANGUAGES),
            context_aware_enhancer=ChatContextEnhancer(
                context_prefix_count=6, context_suffix_count=3
            ),
        )
        self.detector = LanguageDetector(fallback=self.settings.fallback_language)
        self._all_types = self.entity_types
        self._gates = {
            entity_type: gate
            for entity_type in self._all_types
            if (gate := _context_gate(self.analyzer.registry.get_recognizers("en", [entity_type])))
        }

    @property
    def entity_types(self) -> list[str]:
        """Every entity type some recogniser can report."""
        return sorted(self.analyzer.get_supported_entities(language="en"))

    def detect_language(self, text: str) -> str:
        """The language the engine would analyse ``text`` in."""
        return self.detector.detect(text)

    def analyze(
        self,
        text: str,
        language: str | None = None,
        threshold: float = 0.5,
        known: Iterable[tuple[str, str]] = (),
    ) -> list[Entity]:
        """Find the personal data in ``text``; ``language`` is detected when not given.

        Every occurrence of a value found anywhere in the text is reported, and so is
        every occurrence of the ``known`` values, ``(entity type, value)`` pairs found
        earlier in the conversation: a value redacted once never leaks where its
        context word is missing.
        """
        normalised = normalise(text)
        language = self._language(normalised.text, language)
        artifacts = self.nlp_engine.process_text(normalised.text, language)
        return self._entities(normalised, language, artifacts, threshold, known)

    def analyze_batch(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None] | None = None,
        threshold: float = 0.5,
        known: Sequence[Iterable[tuple[str, str]]] | None = None,
    ) -> list[list[Entity]]:
        """``analyze`` for many texts at once, with spaCy's ``nlp.pipe`` per language;
        ``known[i]`` are the values known before for ``texts[i]``."""
        if languages is not None and len(languages) != len(texts):
            raise ValueError("languages must be as long as texts")
        if known is not None and len(known) != len(texts):
            raise ValueError("known must be as long as texts")
        normalised = [normalise(text) for text in texts]
        chosen = self._languages([n.text for n in normalised], languages)
        results: list[list[Entity]] = [[] for _ in texts]
        for language in sorted(set(chosen)):
            indices = [i for i, lang in enumerate(chosen) if lang == language]
            docs = self.nlp_engine.process_batch_docs(
                [normalised[i].text for i in indices], language
            )
            for i, artifacts in zip(indices, docs, strict=True):
                results[i] = self._entities(
                    normalised[i], language, artifacts, threshold, known[i] if known else ()
                )
        return results

    def _languages(
        self, normalised: Sequence[str], languages: Sequence[str | None] | None
    ) -> list[str]:
        given = list(languages) if languages is not None else [None] * len(normalised)
        detected = iter(
            self.detector.detect_many(
                [text for text, lang in zip(normalised, given, strict=True) if lang is None]
            )
        )
        return [
            next(detected) if lang is None else self._language(text, lang)
            for text, lang in zip(normalised, given, strict=True)
        ]

    def _language(self, text: str, language: str | None) -> str:
        if language is None:
            return self.detector.detect(text)
        if language not in SUPPORTED_LANGUAGES:
            raise UnsupportedLanguageError(
                f"language {language!r} is not one of {list(SUPPORTED_LANGUAGES)}"
            )
        return language

    def _entities(
        self,
        normalised: NormalisedText,
        language: str,
        artifacts: NlpArtifacts,
        threshold: float,
        known: Iterable[tuple[str, str]] = (),
    ) -> list[Entity]:
        found = self._original_spans(
            normalised,
            self.analyzer.analyze(
                normalised.text,
                language,
                entities=self._possible_types(normalised.text, threshold),
                score_threshold=threshold,
                nlp_artifacts=artifacts,
            ),
        )
        joined = join_split_digits(normalised) if _needs_second_pass(normalised, found) else None
        if joined is not None:
            found.extend(
                self._original_spans(
                    joined,
                    self.analyzer.analyze(
                        joined.text,
                        language,
                        entities=list(DIGIT_TYPES),
                        score_threshold=threshold,
                        nlp_artifacts=self.nlp_engine.tokenize(joined.text, language),
                    ),
                )
            )
        values = {value: (entity_type, KNOWN_SCORE) for entity_type, value in known}
        for e in found:
            values[normalised.original[e.start : e.end]] = (e.type, e.score)
        found.extend(_occurrences(normalised.original, values))
        return resolve_overlaps(found)

    def _possible_types(self, text: str, threshold: float) -> list[str]:
        """The types that can reach ``threshold`` in ``text``; the others' recognisers
        need not run: a type with a digit in every form in a text without digits, an
        e-mail address without "@", a context-only type without any of its words."""
        has_digit = any(ch.isdigit() for ch in text)
        lowered = text.lower()
        possible = []
        for entity_type in self._all_types:
            if entity_type in _NEED_A_DIGIT and not has_digit:
                continue
            needed = _NEEDED.get(entity_type)
            if needed is not None and not needed.search(text):
                continue
            gate = self._gates.get(entity_type)
            if gate is not None and threshold > gate.max_score and not gate.words.search(lowered):
                continue
            possible.append(entity_type)
        return possible

    @staticmethod
    def _original_spans(
        normalised: NormalisedText, results: Iterable[RecognizerResult]
    ) -> list[Entity]:
        entities = []
        for result in results:
            start, end = normalised.to_original(result.start, result.end)
            entities.append(Entity(result.entity_type, start, end, float(result.score)))
        return entities


#: Types that other recognisers' matches often overlap with less precisely.
_GENERIC_TYPES: Final = frozenset({EntityType.PHONE_NUMBER, EntityType.URL, EntityType.PERSON})


def _precedence(entity: Entity) -> tuple[bool, float]:
    return (entity.type not in _GENERIC_TYPES, entity.score)


#: Shorter values are too often parts of ordinary words to be searched for elsewhere.
_MIN_PROPAGATED_LENGTH: Final = 3
#: The score of a value the conversation's earlier turns already revealed as personal.
KNOWN_SCORE: Final = 0.9


def _occurrences(text: str, values: dict[str, tuple[str, float]]) -> list[Entity]:
    """Every whole-word occurrence in ``text`` of each value (case as given), typed and
    scored as ``values`` says."""
    occurrences = []
    for value, (entity_type, score) in values.items():
        if len(value) < _MIN_PROPAGATED_LENGTH:
            continue
        start = text.find(value)
        while start != -1:
            end = start + len(value)
            if not _is_word_char(text, start - 1) and not _is_word_char(text, end):
                occurrences.append(Entity(entity_type, start, end, score))
            start = text.find(value, start + 1)
    return occurrences


def _is_word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _needs_second_pass(normalised: NormalisedText, found: list[Entity]) -> bool:
    """Whether some split digit run is not yet inside an entity the first pass found."""
    for position in split_digit_separators(normalised):
        start, end = normalised.to_original(position, position + 1)
        if not any(e.start <= start and end <= e.end for e in found):
            return True
    return False


def resolve_overlaps(entities: Iterable[Entity]) -> list[Entity]:
    """Make entities disjoint without uncovering any character that one of them covered.

    Overlapping spans (one inside the other, or partly overlapping) become one span
    over both. Its type is that of the more specific entity (a ticket number beats
    the phone number the same digits could be), else of the higher-scoring one.
    """
    ordered = sorted(entities, key=lambda e: (e.start, -e.end, -e.score))
    merged: list[Entity] = []
    for entity in ordered:
        if merged and entity.start < merged[-1].end:
            last = merged[-1]
            winner = max(last, entity, key=_precedence)
            merged[-1] = Entity(
                winner.type,
                last.start,
                max(last.end, entity.end),
                winner.score,
            )
        else:
            merged.append(entity)
    return merged
