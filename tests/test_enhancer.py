"""chatguard's context enhancer gives exactly the scores of Presidio's lemma enhancer."""

from __future__ import annotations

import json
from pathlib import Path

from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from chatguard.redact.engine import RedactionEngine
from chatguard.redact.normalize import normalise

DATASET = Path(__file__).parent.parent / "benchmarks" / "redaction" / "dataset.jsonl"


def test_scores_equal_presidios_lemma_enhancer_on_the_benchmark_messages(
    engine: RedactionEngine,
) -> None:
    presidio = AnalyzerEngine(
        registry=engine.analyzer.registry,
        nlp_engine=engine.nlp_engine,
        supported_languages=engine.analyzer.supported_languages,
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_prefix_count=6, context_suffix_count=3
        ),
    )
    records = [json.loads(line) for line in DATASET.read_text().splitlines()]
    compared = boosted = 0
    for record in records:
        text, language = normalise(record["text"]).text, record["lang"]
        artifacts = engine.nlp_engine.process_text(text, language)
        options = {
            "nlp_artifacts": artifacts,
            "score_threshold": 0,
            "return_decision_process": True,
        }
        ours = engine.analyzer.analyze(text, language, **options)
        theirs = presidio.analyze(text, language, **options)
        assert sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in ours) == sorted(
            (r.entity_type, r.start, r.end, round(r.score, 6)) for r in theirs
        ), record["id"]
        compared += len(ours)
        boosted += sum(
            1
            for r in ours
            if r.analysis_explanation and r.analysis_explanation.supportive_context_word
        )
    assert compared > 1000 and boosted > 100  # the comparison exercised the context rule
