"""Context words raise a match's score: Presidio's lemma rule, without its per-result cost.

Presidio's ``LemmaContextAwareEnhancer`` deep-copies every result and scans the token
list and each recogniser's word list in Python for each match; on chat messages that
was a fifth of the analysis. ``ChatContextEnhancer`` gives the same scores (a test
checks it against Presidio's on the benchmark set): it looks up the match's token
by bisection, collects the same window of keywords, and finds a context word as a
substring of one of them with one compiled expression per recogniser.
"""

from __future__ import annotations

import bisect
import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import (
    ContextAwareEnhancer,
    LemmaContextAwareEnhancer,
)
from presidio_analyzer.nlp_engine import NlpArtifacts


class ChatContextEnhancer(LemmaContextAwareEnhancer):
    """Adds ``context_similarity_factor`` to a match's score (at least
    ``min_score_with_context_similarity``) when one of its recogniser's context words
    is a substring of one of the keywords around it: the match's first token and up
    to ``context_prefix_count`` keywords before it, ``context_suffix_count`` after it.
    Keywords are the lower-cased lemmas that are neither stop words nor punctuation.
    Results a recogniser already scored with context are left as they are.
    """

    def __init__(self, context_prefix_count: int = 6, context_suffix_count: int = 3) -> None:
        super().__init__(
            context_prefix_count=context_prefix_count, context_suffix_count=context_suffix_count
        )
        self._patterns: dict[str, re.Pattern[str]] = {}

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Raise the scores of ``raw_results`` that have context; returns the same list."""
        if nlp_artifacts is None or not nlp_artifacts.tokens:
            return raw_results
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        keywords = set(nlp_artifacts.keywords)
        lemmas = [lemma.lower() for lemma in nlp_artifacts.lemmas]
        token_ends = [
            start + len(token)
            for start, token in zip(nlp_artifacts.tokens_indices, nlp_artifacts.tokens, strict=True)
        ]
        extra = [word.lower() for word in context or []]
        for result in raw_results:
            metadata = result.recognition_metadata or {}
            recognizer = by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if (
                recognizer is None
                or not recognizer.context
                or metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY)
            ):
                continue
            index = bisect.bisect_right(token_ends, result.start)
            if index >= len(lemmas):
                continue
            window = self._window(lemmas, keywords, index) + extra
            found = self._pattern(recognizer).search("\n".join(window))
            if found is None:
                continue
            result.score = min(
                max(
                    result.score + self.context_similarity_factor,
                    self.min_score_with_context_similarity,
                ),
                ContextAwareEnhancer.MAX_SCORE,
            )
            if result.analysis_explanation is not None:
                result.analysis_explanation.set_supportive_context_word(found.group())
                result.analysis_explanation.set_improved_score(result.score)
        return raw_results

    def _window(self, lemmas: list[str], keywords: set[str], index: int) -> list[str]:
        window: list[str] = []
        for step, count in ((-1, self.context_prefix_count), (1, self.context_suffix_count)):
            remaining, i = count + 1, index
            while 0 <= i < len(lemmas) and remaining > 0:
                if lemmas[i] in keywords:
                    window.append(lemmas[i])
                    remaining -= 1
                i += step
        return window

    def _pattern(self, recognizer: EntityRecognizer) -> re.Pattern[str]:
        pattern = self._patterns.get(recognizer.id)
        if pattern is None:
            words = sorted({w.lower() for w in recognizer.context if w}, key=len, reverse=True)
            pattern = re.compile("|".join(re.escape(word) for word in words))
            self._patterns[recognizer.id] = pattern
        return pattern
