from common.backoff import Backoff
from common.errors import (
    AckAction,
    AckDecision,
    InvalidMessage,
    RedeliveryPolicy,
    TransientError,
    decide,
)
from common.redaction import REDACTED, redact_text, redact_value, register_secret


class TestDecide:
    def test_success_acks(self):
        """No exception means ack."""
        assert decide(None) == AckDecision(AckAction.ACK)

    def test_invalid_message_is_dead_lettered(self):
        """An invalid message is dead-lettered with its reason, never redelivered."""
        decision = decide(InvalidMessage(subject="s", reason="r"))

        assert decision == AckDecision(AckAction.DEAD_LETTER, reason="r")

    def test_transient_error_naks_with_its_delay(self):
        """A transient error is negatively acked with the delay it asks for (when longer)."""
        assert decide(TransientError("db down", delay_s=3)) == AckDecision(AckAction.NAK, 3)

    def test_redelivery_delay_grows_with_the_delivery_count(self):
        """The nak delay doubles per delivery (jitter aside) up to the policy's cap."""
        policy = RedeliveryPolicy(backoff=Backoff(initial_s=1, max_s=8, jitter=0))

        delays = [decide(RuntimeError(), delivered=n, policy=policy).delay_s for n in (1, 2, 5)]

        assert delays == [1, 2, 8]

    def test_last_delivery_is_dead_lettered_whatever_the_error(self):
        """On the last allowed delivery even a transient failure is parked, not dropped."""
        policy = RedeliveryPolicy(max_deliver=4)

        decision = decide(TransientError("db down"), delivered=4, policy=policy)

        assert decision.action is AckAction.DEAD_LETTER
        assert decision.reason.startswith("still failing after 4 deliveries: TransientError")

    def test_unexpected_error_naks_with_a_delay(self):
        """An unexpected error is redelivered later, not spun on."""
        decision = decide(RuntimeError("boom"))

        assert decision.action is AckAction.NAK
        assert decision.delay_s > 0


class TestRedaction:
    def test_registered_secret_is_removed_from_text(self):
        """A registered secret never appears in text that passes through redaction."""
        register_secret("hunter2-rcon")

        assert redact_text("auth failed with hunter2-rcon") == f"auth failed with {REDACTED}"

    def test_url_password_is_removed(self):
        """The password part of a URL is hidden."""
        assert redact_text("postgresql://isr:s3cret@db:5432/isr") == (
            f"postgresql://isr:{REDACTED}@db:5432/isr"
        )

    def test_secret_looking_key_loses_its_value(self):
        """A field named like a secret is redacted whatever its value."""
        assert redact_value("rcon_password", "anything") == REDACTED
