import io
import json
import logging

import structlog

from common import logging as isr_logging
from common.redaction import register_secret
from common.settings import LogSettings


class TestConfigure:
    def test_json_output_redacts_secrets(self):
        """JSON log lines carry the service name and never a registered secret or password."""
        out = io.StringIO()
        isr_logging.configure(LogSettings(format="json"), service="tailer", stream=out)
        register_secret("s3cr3t-value")

        structlog.get_logger().info(
            "connect", url="rcon://x", detail="pw s3cr3t-value", password="p"
        )

        record = json.loads(out.getvalue().splitlines()[-1])
        assert record["service"] == "tailer"
        assert record["detail"] == "pw ***"
        assert record["password"] == "***"
        assert "s3cr3t-value" not in out.getvalue()

    def test_stdlib_loggers_are_routed_and_redacted(self):
        """Third-party stdlib loggers go through the same redaction."""
        out = io.StringIO()
        isr_logging.configure(LogSettings(format="json"), service="bot", stream=out)
        register_secret("tok-123456")

        logging.getLogger("hikari").warning("token tok-123456 rejected")

        assert "tok-123456" not in out.getvalue()
        assert json.loads(out.getvalue().splitlines()[-1])["event"] == "token *** rejected"
