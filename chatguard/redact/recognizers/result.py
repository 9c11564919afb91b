"""How chatguard's recognisers report a match, the way Presidio's own do."""

from __future__ import annotations

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult


def recognizer_result(
    recognizer: EntityRecognizer,
    start: int,
    end: int,
    score: float,
    explanation: str,
    *,
    context_judged: bool = False,
) -> RecognizerResult:
    """A result tied to ``recognizer`` (the engine's context enhancer finds its context
    words through the metadata) with an explanation the enhancer can write into.

    ``context_judged`` says the recogniser already weighed the context itself, so no
    context boost must be added on top.
    """
    name = type(recognizer).__name__
    metadata: dict[str, object] = {
        RecognizerResult.RECOGNIZER_NAME_KEY: name,
        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
    }
    if context_judged:
        metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
    return RecognizerResult(
        entity_type=recognizer.supported_entities[0],
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=name, original_score=score, textual_explanation=explanation
        ),
        recognition_metadata=metadata,
    )
