from common.errors import AckAction, AckDecision, InvalidMessage, TransientError, decide
from common.redaction import REDACTED, redact_text, redact_value, register_secret


class TestDecide:
    def test_success_acks(self):
        """No exception means ack."""
        assert decide(None) == AckDecision(AckAction.ACK)

    def test_invalid_message_terminates(self):
        """An invalid message is terminated, never redelivered."""
        assert decide(InvalidMessage(subject="s", reason="r")).action is AckAction.TERM

    def test_transient_error_naks_with_its_delay(self):
        """A transient error is negatively acked with the delay it asks for."""
        assert decide(TransientError("db down", delay_s=3)) == AckDecision(AckAction.NAK, 3)

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
