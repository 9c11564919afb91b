"""Person names in all six languages, from NER, cue phrases and a name lexicon.

Three sources of evidence, combined into one span per full name:

* NER spans labelled PERSON. A model trained on the message's language is
  trusted; the English model running on another language tags capitalised German
  nouns and Portuguese towns as people, so its spans need a lexicon name or a cue.
* Cue phrases ("my name is", "ich heiße", "me llamo", "Sra.", ...): the words
  after them are the name, in any case ("my name is joão silva"). Weak cues
  ("I am", "sono", "soy") need a word that looks like a name after them.
* A lexicon of given names and surnames (:mod:`chatguard.redact.names`), so that
  "Giulia Bianchi" or "joão silva" is found with no NER model for the language.

Destinations are never people here: a candidate that is a known place
(:mod:`chatguard.redact.places`) is dropped unless a strong cue names it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, Final

from presidio_analyzer import LocalRecognizer, RecognizerResult

from chatguard.redact.folding import fold
from chatguard.redact.names import NAME_PARTICLES, NameLexicon, name_lexicon
from chatguard.redact.places import PlaceGazetteer, place_gazetteer
from chatguard.redact.recognizers.context import context_words
from chatguard.redact.recognizers.result import recognizer_result

_NAME: Final = "PersonNameRecognizer"
ENTITY: Final = "PERSON"

#: Scores: above the redaction threshold (0.5) only with real evidence.
CUE_SCORE: Final = 0.85
NATIVE_NER_SCORE: Final = 0.85
FOREIGN_NER_SCORE: Final = 0.75
LEXICON_FULL_NAME_SCORE: Final = 0.7
LEXICON_LOWERCASE_SCORE: Final = 0.6
CUE_UNKNOWN_WORD_SCORE: Final = 0.6
LEXICON_FIRST_NAME_AND_WORD_SCORE: Final = 0.45
LEXICON_FIRST_NAME_ALONE_SCORE: Final = 0.35

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    # A date of birth is said of a person: the words for "born" are context too.
    "en": ["name", "passenger", "traveller", "traveler", "called", "surname", "born"],
    "de": ["name", "passagier", "fluggast", "reisende", "heiße", "heisse", "geboren"],
    "fr": ["prénom", "passager", "voyageur", "appelle", "monsieur", "madame", "né", "née"],
    "it": ["nome", "passeggero", "passeggera", "chiamo", "signore", "signora", "nato", "nata"],
    "pt": ["nome", "passageiro", "passageira", "chamo", "senhor", "senhora", "nascid"],
    "es": ["nombre", "apellido", "pasajero", "pasajera", "llamo", "señor", "señora", "nacid"],
}

_NAME_NOUN = (
    r"(?:(?:first|last|family|full|given|sur)\s?name|name|vorname|nachname|familienname"
    r"|nome|cognome|sobrenome|nom|pr[ée]nom|nombre|apellidos?)"
)
_STRONG_CUES = (
    rf"\b{_NAME_NOUN}(?:\s*:|['’]s\b|\s+(?:is|ist|lautet|est|è|é|es)(?!\w))"
    r"|\b(?:under\s+the\s+name(?:\s+of)?|in\s+the\s+name\s+of|auf\s+den\s+namen(?:\s+von)?"
    r"|au\s+nom\s+de|a\s+nome(?:\s+di)?|em\s+nome\s+de|a\s+nombre\s+de)\b"
    r"|\b(?:account\s+holder|on\s+behalf\s+of|booked\s+under|(?:konto)?inhaber(?:in)?"
    r"|läuft\s+auf|richtig\s+ist|titulaire|pour\s+le\s+compte\s+de|intestat[oa]\s+a"
    r"|per\s+conto\s+di|titolare|titular|por\s+conta\s+de|por\s+cuenta\s+de)\b"
    r"|\b(?:i\s+am\s+called|i['’]m\s+called|call\s+me|ich\s+hei(?:ß|ss)e|hier\s+spricht"
    r"|je\s+m['’]\s?appelle|je\s+me\s+nomme|mi\s+chiamo|chamo-me|me\s+chamo|me\s+llamo)\b"
)
_WEAK_CUES = (
    r"\b(?:i\s+am|i['’]m|this\s+is|je\s+suis|moi\s+c['’]est|(?:io\s+)?sono"
    r"|(?:eu\s+)?sou(?:\s+[oa](?=\s))?|aqui\s+(?:é|fala)|(?:yo\s+)?soy)\b"
)
#: German nouns are capitalised, so "ich bin Kunde" needs a lexicon name; "c'est",
#: "è", "es" are followed by anything, so they too need one.
_LEXICON_ONLY_CUES = r"\b(?:ich\s+bin|bin|hier\s+ist|it['’]s|c['’]est|è|é|es)(?!\w)"
_TITLES = (
    r"\b(?:(?i:mrs|mr|ms|miss|dr|herrn|herr|frau|srta|sra|sr|sig\.ra|sig\.na|sig"
    r"|signorina|signora|signor|dott\.ssa|dottoressa|dott|prof|mme|mlle|madame|monsieur"
    r"|mademoiselle|señorita|señora|señor|senora|senor|senhora|senhor)\b\.?"
    r"|M\.|D\.|Dona\b|Don\b|Dom\b)"
)
_CUES: Final[re.Pattern[str]] = re.compile(
    rf"(?P<strong>(?i:{_STRONG_CUES}))|(?P<weak>(?i:{_WEAK_CUES}))"
    rf"|(?P<lexicon>(?i:{_LEXICON_ONLY_CUES}))|(?P<title>{_TITLES})"
)

_TITLE_WORDS: Final[frozenset[str]] = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "herr", "herrn", "frau", "sr", "sra", "srta", "sigra"}
    | {"sig", "signor", "signora", "signorina", "dott", "dottssa", "prof", "mme", "mlle"}
    | {"m", "d", "dona", "don", "dom", "madame", "monsieur", "mademoiselle", "senor"}
    | {"senora", "senorita", "senhor", "senhora"}
)

#: Capitalised words that follow "I am" / "sono" without being names.
_NOT_NAMES_AFTER_CUE: Final[frozenset[str]] = frozenset(
    fold(word)
    for word in (
        "Terminal",
        "Gate",
        "Gold",
        "Silver",
        "Senator",
        "Platinum",
        "Premium",
        "Member",
        "Frequent",
        "Business",
        "Economy",
        "Vegan",
        "Vegetarian",
        "English",
        "British",
        "American",
        "German",
        "French",
        "Italian",
        "Portuguese",
        "Spanish",
        "Brazilian",
        "Swiss",
        "Austrian",
        "Deutscher",
        "Deutsche",
        "Français",
        "Française",
        "Italiano",
        "Italiana",
        "Português",
        "Portuguesa",
        "Brasileiro",
        "Brasileira",
        "Español",
        "Española",
        "Catholic",
        "Muslim",
        "Jewish",
        "OK",
        "Okay",
        "Sorry",
        "Here",
        "Back",
        "Lufthansa",
        "Luxair",
        "Iberia",
        "Tap",
        "Monday",
        "Sunday",
        "Friday",
        # What "the name is ..." says of a name when it is not one.
        *("wrong", "incorrect", "correct", "misspelled", "missing", "different", "falsch"),
        *("richtig", "korrekt", "anders", "sbagliato", "sbagliata", "errato", "errata"),
        *("giusto", "giusta", "corretto", "corretta", "diverso", "diversa", "faux", "fausse"),
        *("erroné", "erronée", "incorrecte", "correcte", "différent", "errado", "errada"),
        *("incorreto", "incorreta", "correto", "correta", "diferente", "equivocado"),
        *("equivocada", "incorrecto", "incorrecta", "correcto", "correcta", "distinto"),
    )
)

_WORD: Final[re.Pattern[str]] = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SENTENCE_END: Final[frozenset[str]] = frozenset({".", "!", "?", ":", ";", "…"})


@dataclass(frozen=True, slots=True)
class _Word:
    """One token of the message, with what the rules ask of it precomputed."""

    text: str
    folded: str
    start: int
    end: int
    is_word: bool
    is_capitalised: bool
    is_lowercase: bool
    starts_sentence: bool
    joined_to_next: bool


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int
    end: int
    score: float
    reason: str


class PersonNameRecognizer(LocalRecognizer):
    """Finds people's names (entity ``PERSON``) in chat messages in all six languages.

    Promises: a name after a cue ("my name is", "ich heiße", "Sra.") or found by an
    NER model trained on the language scores 0.85; a given name plus a surname
    from the lexicon scores 0.7 (0.6 in lower case); weaker evidence stays below
    the 0.5 redaction threshold. The cue itself is never part of the span, a full
    name ("Anna Maria Müller") is one span, and a known place is never a person
    unless a strong cue ("my name is") names it.
    """

    def __init__(self, supported_language: str = "en") -> None:
        self._lexicon: NameLexicon = name_lexicon()
        self._places: PlaceGazetteer = place_gazetteer()
        super().__init__(
            supported_entities=[ENTITY],
            supported_language=supported_language,
            context=context_words(CONTEXT_BY_LANGUAGE),
            name=_NAME,
        )

    def load(self) -> None:
        """Build the name lexicon and place gazetteer (cached for the process)."""
        self._lexicon = name_lexicon()
        self._places = place_gazetteer()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        """Return one result per full name found in ``text``.

        Needs ``nlp_artifacts`` (its tokens, and its NER entities when there are
        any); without them nothing is found.
        """
        if ENTITY not in entities or nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        words = self._words(nlp_artifacts.tokens)
        if not words:
            return []
        candidates: list[_Candidate] = []
        strongly_cued: set[int] = set()
        cued = self._cue_candidates(text, words, candidates, strongly_cued)
        candidates.extend(self._lexicon_candidates(words))
        candidates.extend(self._ner_candidates(nlp_artifacts, words, cued, strongly_cued))
        return [self._result(candidate) for candidate in _merged(candidates, text)]

    # --- token view -------------------------------------------------------------

    def _words(self, doc: Any) -> list[_Word]:
        words: list[_Word] = []
        previous_text = ""
        previous_space = True
        for token in doc:
            text = token.text
            is_word = _WORD.fullmatch(text) is not None
            words.append(
                _Word(
                    text=text,
                    folded=fold(text),
                    start=token.idx,
                    end=token.idx + len(text),
                    is_word=is_word,
                    is_capitalised=is_word and text[0].isupper(),
                    is_lowercase=is_word and text.islower(),
                    starts_sentence=(
                        not previous_text
                        or previous_text in _SENTENCE_END
                        or "\n" in previous_text
                        or (previous_space and not previous_text.strip())
                    ),
                    joined_to_next=not token.whitespace_,
                )
            )
            previous_text = text
            previous_space = token.is_space
        return words

    def _is_name_word(self, word: _Word) -> bool:
        """A lexicon name that, written as it is, is not an everyday word."""
        if not word.is_word or not self._lexicon.is_name(word.folded):
            return False
        if word.is_lowercase or word.starts_sentence:
            return not self._lexicon.is_ordinary_in_lowercase(word.folded)
        return True

    def _is_place(self, parts: list[_Word]) -> bool:
        phrase = " ".join(part.folded for part in parts)
        if len(parts) > 1 and all(self._places.is_place(part.folded) for part in parts):
            return True  # "Lisboa Frankfurt": a route, not a person
        if not self._places.is_place(phrase):
            return False
        if len(parts) == 1 and self._lexicon.is_first_name(phrase):
            return self._places.is_major_place(phrase)
        return True

    # --- cues --------------------------------------------------------------------

    def _cue_candidates(
        self,
        text: str,
        words: list[_Word],
        candidates: list[_Candidate],
        strongly_cued: set[int],
    ) -> set[int]:
        """Add a candidate after every cue; return the indices of words a cue vouches for."""
        cued: set[int] = set()
        starts = [word.start for word in words]
        for match in _CUES.finditer(text):
            index = bisect.bisect_left(starts, match.end())
            while index < len(words) and not words[index].text.strip():
                index += 1
            if index >= len(words):
                continue
            kind = match.lastgroup or "weak"
            found = self._name_after_cue(words, index, kind)
            if kind == "strong":
                strongly_cued.add(index)
                cued.add(index)
            if found is not None:
                cued.add(index)
                end, score = found
                candidates.append(_Candidate(words[index].start, words[end].end, score, kind))
        return cued

    def _name_after_cue(
        self, words: list[_Word], index: int, kind: str
    ) -> tuple[int, float] | None:
        """The last word index and score of the name starting at ``index``, if one does."""
        first = words[index]
        if not first.is_word or (
            self._lexicon.is_stop_word(first.folded) and not self._is_name_word(first)
        ):
            return None
        score = CUE_SCORE
        if kind in ("weak", "lexicon") and self._is_place([first]):
            return None  # "c'est Paris", "è Roma": only a strong cue makes a place a name
        if self._is_name_word(first):
            if (
                kind != "strong"
                and first.is_lowercase
                and not self._lexicon.is_first_name(first.folded)
            ):
                return None  # "sono stanco": Stanco is a surname, but not after "sono"
        elif kind == "lexicon":
            return None
        elif first.is_capitalised and first.folded not in _NOT_NAMES_AFTER_CUE:
            if kind == "weak":
                if self._is_place([first]) or self._lexicon.is_ordinary_in_lowercase(first.folded):
                    return None
                score = CUE_UNKNOWN_WORD_SCORE
        elif (
            kind == "strong"
            and not self._lexicon.is_ordinary_in_lowercase(first.folded)
            and first.folded not in _NOT_NAMES_AFTER_CUE
        ):
            score = CUE_UNKNOWN_WORD_SCORE
        else:
            return None
        return self._extend_name(words, index, limit=3), score

    def _extend_name(self, words: list[_Word], index: int, limit: int) -> int:
        """Extend a name from ``index`` over up to ``limit`` name words, particles and hyphens."""
        end = index
        count = 1
        cursor = index + 1
        while cursor < len(words) and count < limit:
            word = words[cursor]
            if word.text == "-" and words[cursor - 1].joined_to_next and word.joined_to_next:
                cursor += 1
                continue
            if word.folded in NAME_PARTICLES and cursor + 1 < len(words):
                following = words[cursor + 1]
                if self._continues_name(following, after_cue=True):
                    end = cursor + 1
                    count += 1
                    cursor += 2
                    continue
                break
            lowercase_surname = (
                word.is_lowercase
                and words[index].is_lowercase
                and self._lexicon.is_last_name(word.folded)
                and not self._lexicon.is_stop_word(word.folded)
            )
            if not (lowercase_surname or self._continues_name(word, after_cue=True)):
                break
            end = cursor
            count += 1
            cursor += 1
        return end

    def _continues_name(self, word: _Word, after_cue: bool = False) -> bool:
        """Whether ``word`` carries on the name before it.

        After a cue a capitalised place counts too: "sono Simone Colombo" names a
        person, and a town glued to a name without "aus", "de" or a comma is rare.
        """
        if self._is_name_word(word):
            return True
        return (
            word.is_capitalised
            and not self._lexicon.is_stop_word(word.folded)
            and word.folded not in _NOT_NAMES_AFTER_CUE
            and (after_cue or not self._is_place([word]))
        )

    # --- lexicon -----------------------------------------------------------------

    def _lexicon_candidates(self, words: list[_Word]) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        index = 0
        while index < len(words):
            if not self._is_name_word(words[index]):
                index += 1
                continue
            run = [index]
            cursor = index + 1
            while cursor < len(words):
                word = words[cursor]
                if self._is_name_word(word) and word.is_lowercase == words[run[-1]].is_lowercase:
                    run.append(cursor)
                    cursor += 1
                elif (
                    (word.text == "-" or word.folded in NAME_PARTICLES)
                    and cursor + 1 < len(words)
                    and self._is_name_word(words[cursor + 1])
                ):
                    run.append(cursor + 1)
                    cursor += 2
                else:
                    break
            candidate = self._judge_run(words, run)
            if candidate is not None:
                candidates.append(candidate)
            index = cursor
        return candidates

    def _judge_run(self, words: list[_Word], run: list[int]) -> _Candidate | None:
        """Score a run of consecutive lexicon names, or reject it."""
        while run and (
            not self._lexicon.is_first_name(words[run[0]].folded)
            or words[run[0]].folded in _TITLE_WORDS
        ):
            run = run[1:]
        if not run:
            return None
        parts = [words[i] for i in run]
        first, last = parts[0], parts[-1]
        if self._is_place(parts):
            return None
        if len(parts) >= 2:
            score = LEXICON_LOWERCASE_SCORE if first.is_lowercase else LEXICON_FULL_NAME_SCORE
            return _Candidate(first.start, last.end, score, "lexicon full name")
        if first.is_lowercase or self._lexicon.is_ambiguous_alone(first.folded):
            return None
        following = run[0] + 1
        if following < len(words) and self._continues_name(words[following]):
            return _Candidate(
                first.start,
                words[following].end,
                LEXICON_FIRST_NAME_AND_WORD_SCORE,
                "lexicon first name and capitalised word",
            )
        return _Candidate(first.start, first.end, LEXICON_FIRST_NAME_ALONE_SCORE, "first name")

    # --- NER ---------------------------------------------------------------------

    def _ner_candidates(
        self, nlp_artifacts: Any, words: list[_Word], cued: set[int], strongly_cued: set[int]
    ) -> list[_Candidate]:
        spans = [e for e in (nlp_artifacts.entities or ()) if e.label_ in ("PERSON", "PER")]
        if not spans:
            return []
        native = _ner_is_native(nlp_artifacts, self.supported_language)
        candidates: list[_Candidate] = []
        for span in spans:
            start, end = span.start, span.end
            while start < end and self._trimmed(words[start]):
                start += 1
            while end > start and self._trimmed(words[end - 1]):
                end -= 1
            if not native:
                # The English model on Portuguese: "voo de joão silva" is one PERSON.
                while start < end and self._foreign_edge(words[start]):
                    start += 1
                while end > start and self._foreign_edge(words[end - 1]):
                    end -= 1
            # "Kontoinhaber Lea Lindemann" as one span: the cue is not part of the name.
            start = min((i for i in cued if start < i < end), default=start)
            if start == end:
                continue
            parts = [word for word in words[start:end] if word.is_word]
            if not parts or _is_code(parts):
                continue
            if start not in strongly_cued and self._is_place(parts):
                continue
            alone = len(parts) == 1 and self._lexicon.is_ambiguous_alone(parts[0].folded)
            if alone and start not in cued:
                continue
            if native:
                score, reason = NATIVE_NER_SCORE, "NER"
            elif start in cued:
                score, reason = CUE_SCORE, "NER after cue"
            elif any(self._is_name_word(part) for part in parts):
                score, reason = FOREIGN_NER_SCORE, "NER with lexicon name"
            else:
                continue
            candidates.append(_Candidate(words[start].start, words[end - 1].end, score, reason))
        return candidates

    def _trimmed(self, word: _Word) -> bool:
        """Whether an NER span's edge word is not part of the name (a title, 'Je', '.')."""
        return (
            not word.is_word
            or word.folded.replace(".", "") in _TITLE_WORDS
            or self._lexicon.is_stop_word(word.folded)
        )

    def _foreign_edge(self, word: _Word) -> bool:
        """Whether a foreign-language NER span's edge word is an ordinary word, not a name."""
        return self._trimmed(word) or (word.is_lowercase and not self._is_name_word(word))

    def _result(self, candidate: _Candidate) -> RecognizerResult:
        return recognizer_result(
            self,
            candidate.start,
            candidate.end,
            candidate.score,
            f"person name ({candidate.reason})",
        )


def _is_code(parts: list[_Word]) -> bool:
    """Whether an NER span is one short word in capitals: a currency or airport code."""
    return len(parts) == 1 and parts[0].text.isupper() and len(parts[0].text) <= 3


def _ner_is_native(nlp_artifacts: Any, language: str) -> bool:
    """Whether the NER that produced the artifacts was trained on ``language``."""
    ner_is_native = getattr(nlp_artifacts.nlp_engine, "ner_is_native", None)
    if callable(ner_is_native):
        try:
            return bool(ner_is_native(language))
        except (KeyError, ValueError):
            return False
    return bool(getattr(nlp_artifacts.tokens, "lang_", "") == language)


def _merged(candidates: list[_Candidate], text: str) -> list[_Candidate]:
    """Merge overlapping candidates and those separated only by spaces or a hyphen."""
    merged: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if merged:
            last = merged[-1]
            gap = text[last.end : candidate.start] if candidate.start > last.end else ""
            if candidate.start <= last.end or not gap.strip(" -"):
                merged[-1] = _Candidate(
                    last.start,
                    max(last.end, candidate.end),
                    max(last.score, candidate.score),
                    last.reason if last.score >= candidate.score else candidate.reason,
                )
                continue
        merged.append(candidate)
    return merged
