"""What the user types: a whole message that asks to withdraw a consent, in any of the
six languages, and a yes or a no to chatguard's question; never a message that merely
mentions such a word."""

from __future__ import annotations

import pytest

from chatguard.consent import (
    NO_PAYLOAD,
    YES_PAYLOAD,
    ConfirmationMatcher,
    ConsentTexts,
    Purpose,
    TextKind,
    WithdrawalMatcher,
    normalise_phrase,
)
from chatguard.redact.languages import SUPPORTED_LANGUAGES

QUALITY, PUSH = Purpose.QUALITY_SAMPLING, Purpose.PUSH_NOTIFICATIONS

#: Requests to withdraw the quality-sampling consent, as people type them.
ASKS_TO_WITHDRAW_CONSENT = {
    "en": ["I withdraw my consent", "withdraw consent", "I WITHDRAW MY CONSENT!",
           "  I'd like to withdraw my consent.  ", "Revoke my consent"],
    "de": ["Einwilligung widerrufen", "Ich widerrufe meine Einwilligung.",
           "ich möchte meine Einwilligung widerrufen", "Ich ziehe meine Einwilligung zurück",
           "ich mochte meine einwilligung widerrufen"],
    "fr": ["Je retire mon consentement", "je retire mon consentement !",
           "Retrait du consentement", "je révoque mon consentement", "je revoque mon consentement"],
    "it": ["Revoco il consenso", "revoco il mio consenso.", "Voglio revocare il consenso",
           "ritiro il consenso"],
    "pt": ["Retirar o consentimento", "Retiro o meu consentimento", "retiro o meu consentimento.",
           "Quero retirar o meu consentimento", "Quero remover o meu consentimento"],
    "es": ["Retiro mi consentimiento", "retiro mi consentimiento!",
           "Quiero retirar mi consentimiento", "revocar el consentimiento"],
}  # fmt: skip

#: The single word of the notice (and "stop notifications"), for push notifications.
ASKS_TO_STOP_NOTIFICATIONS = {
    "en": ["Withdraw", "withdraw", "WITHDRAW.", "Stop notifications"],
    "de": ["Widerrufen", "widerrufen!", "Benachrichtigungen abbestellen"],
    "fr": ["Retirer", "retirer", "Arrêter les notifications", "arreter les notifications"],
    "it": ["Revoca", "revoca!", "Disattiva le notifiche"],
    "pt": ["Retirar", "retirar", "«Retirar»", "Parar as notificações"],
    "es": ["Retirar", "¡Retirar!", "Desactivar las notificaciones"],
}  # fmt: skip

#: Messages that mention such a word but ask for no withdrawal.
MERELY_MENTIONS = {
    "en": ["Can I withdraw money at the airport?", "I want to withdraw my booking",
           "How do I withdraw from the flight?", "withdrawal", "consent", "I consent"],
    "de": ["Kann ich am Flughafen Geld abheben oder widerrufen?",
           "Ich will meine Buchung widerrufen", "Widerrufsrecht für Flüge?", "Einwilligung"],
    "fr": ["Où retirer mes bagages ?", "Je veux retirer de l'argent", "Retirer ma réservation",
           "consentement"],
    "it": ["Revoca della prenotazione?", "Come posso revocare il volo?", "il consenso"],
    "pt": ["Onde posso retirar a bagagem?", "Quero retirar dinheiro no aeroporto",
           "Retirar a reserva", "consentimento"],
    "es": ["¿Dónde puedo retirar mi equipaje?", "Quiero retirar dinero", "Retirar mi reserva",
           "consentimiento"],
}  # fmt: skip

YES = {
    "en": ["yes", "Yes!", "YES PLEASE", "Yes, I agree", "sure"],
    "de": ["Ja", "ja.", "Ja, einverstanden", "Ich stimme zu"],
    "fr": ["Oui", "oui !", "Oui, j'accepte", "D'accord"],
    "it": ["Sì", "si", "Sì, acconsento", "Va bene"],
    "pt": ["Sim", "sim.", "Sim, aceito", "Concordo"],
    "es": ["Sí", "si", "Sí, acepto", "De acuerdo"],
}  # fmt: skip

NO = {
    "en": ["no", "No.", "No, thanks", "no thank you"],
    "de": ["Nein", "nein!", "Nein, danke", "lieber nicht"],
    "fr": ["Non", "non.", "Non, merci", "Je refuse"],
    "it": ["No", "no!", "No, grazie", "Non accetto"],
    "pt": ["Não", "nao", "Não, prefiro que não", "Não, obrigada"],
    "es": ["No", "no.", "No, gracias", "No acepto"],
}  # fmt: skip

NOT_AN_ANSWER = {
    "en": ["ok", "maybe", "why do you ask?", "yes but what is it for?", "I said no to my boss"],
    "de": ["vielleicht", "wozu?", "ja aber wofür"],
    "fr": ["peut-être", "pourquoi ?", "oui mais pourquoi"],
    "it": ["forse", "perché?", "sì ma perché"],
    "pt": ["talvez", "porquê?", "sim mas para quê"],
    "es": ["quizás", "¿por qué?", "sí pero para qué"],
}  # fmt: skip


def _cases(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(language, text) for language, texts in table.items() for text in texts]


@pytest.fixture(scope="module")
def withdrawals() -> WithdrawalMatcher:
    return WithdrawalMatcher()


@pytest.fixture(scope="module")
def answers() -> ConfirmationMatcher:
    return ConfirmationMatcher(ConsentTexts.load())


def test_every_language_has_examples_of_each_kind() -> None:
    for table in (ASKS_TO_WITHDRAW_CONSENT, ASKS_TO_STOP_NOTIFICATIONS, MERELY_MENTIONS, YES, NO):
        assert set(table) == set(SUPPORTED_LANGUAGES)
    assert set(WithdrawalMatcher.QUALITY_SAMPLING) == set(SUPPORTED_LANGUAGES)
    assert set(WithdrawalMatcher.PUSH_NOTIFICATIONS) == set(SUPPORTED_LANGUAGES)
    assert set(ConfirmationMatcher.YES) == set(ConfirmationMatcher.NO) == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize(("language", "text"), _cases(ASKS_TO_WITHDRAW_CONSENT))
def test_a_consent_phrase_asks_to_withdraw_quality_sampling(
    withdrawals: WithdrawalMatcher, language: str, text: str
) -> None:
    assert withdrawals.match(text) is QUALITY


@pytest.mark.parametrize(("language", "text"), _cases(ASKS_TO_STOP_NOTIFICATIONS))
def test_the_single_word_asks_to_withdraw_push_notifications(
    withdrawals: WithdrawalMatcher, language: str, text: str
) -> None:
    assert withdrawals.match(text) is PUSH


@pytest.mark.parametrize(
    ("language", "text"), _cases(ASKS_TO_WITHDRAW_CONSENT) + _cases(ASKS_TO_STOP_NOTIFICATIONS)
)
def test_a_withdrawal_phrase_names_the_languages_it_is_written_in(
    withdrawals: WithdrawalMatcher, language: str, text: str
) -> None:
    # A one-word message is too short to tell its language; the phrase tells it.
    assert language in withdrawals.languages(text)


def test_a_phrase_of_two_languages_names_both_and_other_text_none(
    withdrawals: WithdrawalMatcher,
) -> None:
    assert withdrawals.languages("Retirar") == ("pt", "es")
    assert withdrawals.languages(" widerrufen! ") == ("de",)
    assert withdrawals.languages("Can I withdraw money at the airport?") == ()


@pytest.mark.parametrize(("language", "text"), _cases(MERELY_MENTIONS))
def test_a_message_that_merely_mentions_the_word_is_not_a_withdrawal(
    withdrawals: WithdrawalMatcher, language: str, text: str
) -> None:
    assert withdrawals.match(text) is None


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_word_the_notification_confirmation_tells_the_user_to_type_withdraws(
    withdrawals: WithdrawalMatcher, language: str
) -> None:
    confirmation = ConsentTexts.load().get(TextKind.PUSH_NOTIFICATIONS_GRANTED, language).text
    [quoted] = [
        word
        for word in ("Withdraw", "Widerrufen", "Retirer", "Revoca", "Retirar")
        if word in confirmation
    ]
    assert withdrawals.match(quoted) is PUSH


@pytest.mark.parametrize(("language", "text"), _cases(YES))
def test_a_clear_yes_is_yes(answers: ConfirmationMatcher, language: str, text: str) -> None:
    assert answers.answer(text) is True


@pytest.mark.parametrize(("language", "text"), _cases(NO))
def test_a_clear_no_is_no(answers: ConfirmationMatcher, language: str, text: str) -> None:
    assert answers.answer(text) is False


@pytest.mark.parametrize(("language", "text"), _cases(NOT_AN_ANSWER))
def test_anything_else_is_not_an_answer(
    answers: ConfirmationMatcher, language: str, text: str
) -> None:
    assert answers.answer(text) is None


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_answer_buttons_labels_typed_back_are_answers(
    answers: ConfirmationMatcher, language: str
) -> None:
    texts = ConsentTexts.load()
    assert answers.answer(texts.get(TextKind.ANSWER_YES, language).text) is True
    assert answers.answer(texts.get(TextKind.ANSWER_NO, language).text) is False


def test_a_quick_reply_payload_decides_alone() -> None:
    answers = ConfirmationMatcher()
    assert answers.answer("Sim, aceito", NO_PAYLOAD) is False
    assert answers.answer(None, YES_PAYLOAD) is True
    assert answers.answer("", "SOME_BOT_PAYLOAD") is None
    assert answers.answer("nein", "SOME_BOT_PAYLOAD") is False


def test_phrases_are_compared_without_case_accents_punctuation_or_extra_spaces() -> None:
    assert normalise_phrase("  Não,   OBRIGADA!! ") == "nao obrigada"
    assert normalise_phrase("«Retirar»") == "retirar"
    assert normalise_phrase("J'accepte") == "j accepte"
