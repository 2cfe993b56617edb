"""Turn :class:`~common.settings.NatsSettings` into nats-py connect options: identity and TLS.

nats-py does the authentication itself (credentials files, NKey signatures, user/password,
TLS); this module only reads the secret files safely (bounded, regular files only, the value
registered with the redactor) and reports a bad one by its variable name, so a service fails
at start with ``ISR_NATS_PASSWORD_FILE: /run/x: not found`` rather than a nats-py traceback.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from common.config.files import FileReadError, read_regular_file
from common.config.limits import SECRET_MAX_BYTES
from common.redaction import register_secret
from common.settings import NatsSettings


class NatsAuthError(ValueError):
    """A credential or TLS file named in the settings cannot be used."""


def _read_secret(path: Path, variable: str) -> str:
    try:
        raw = read_regular_file(path, max_bytes=SECRET_MAX_BYTES)
    except FileNotFoundError:
        msg = f"{variable}: {path}: no such file"
        raise NatsAuthError(msg) from None
    except FileReadError as exc:
        msg = f"{variable}: {path}: {exc.reason}"
        raise NatsAuthError(msg) from None
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        msg = f"{variable}: {path}: is not UTF-8 text"
        raise NatsAuthError(msg) from None
    if not value:
        msg = f"{variable}: {path}: is empty"
        raise NatsAuthError(msg)
    register_secret(value)
    return value


def _check_readable(path: Path, variable: str) -> None:
    # nats-py reads creds and certificates itself (again at every reconnect, so a rotated
    # file is picked up); check once here so a wrong path is named, not a stack trace.
    _read_secret(path, variable)


def tls_context(settings: NatsSettings) -> ssl.SSLContext | None:
    """The client TLS context, or None when TLS is not wanted."""
    if not settings.wants_tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.tls_ca_file is not None:
        _check_readable(settings.tls_ca_file, "ISR_NATS_TLS_CA_FILE")
        try:
            context.load_verify_locations(cafile=str(settings.tls_ca_file))
        except ssl.SSLError as exc:
            msg = f"ISR_NATS_TLS_CA_FILE: {settings.tls_ca_file}: not a PEM CA bundle ({exc})"
            raise NatsAuthError(msg) from None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        _check_readable(settings.tls_cert_file, "ISR_NATS_TLS_CERT_FILE")
        _check_readable(settings.tls_key_file, "ISR_NATS_TLS_KEY_FILE")
        try:
            context.load_cert_chain(str(settings.tls_cert_file), str(settings.tls_key_file))
        except ssl.SSLError as exc:
            msg = (
                f"ISR_NATS_TLS_CERT_FILE / ISR_NATS_TLS_KEY_FILE: {settings.tls_cert_file}: "
                f"not a matching PEM certificate and key ({exc.reason or exc})"
            )
            raise NatsAuthError(msg) from None
    return context


def connect_options(settings: NatsSettings) -> dict[str, Any]:
    """Keyword arguments for ``nats.connect`` that carry the identity and TLS of ``settings``.

    Raises:
        NatsAuthError: a named file is missing, unreadable, empty or not what it should be.
    """
    options: dict[str, Any] = {}
    if settings.creds_file is not None:
        _check_readable(settings.creds_file, "ISR_NATS_CREDS_FILE")
        options["user_credentials"] = str(settings.creds_file)
    elif settings.nkey_seed_file is not None:
        seed = _read_secret(settings.nkey_seed_file, "ISR_NATS_NKEY_SEED_FILE")
        if not seed.startswith("SU"):
            msg = (
                f"ISR_NATS_NKEY_SEED_FILE: {settings.nkey_seed_file}: not an NKey user seed "
                "(it should start with SU)"
            )
            raise NatsAuthError(msg)
        options["nkeys_seed_str"] = seed
    elif settings.user is not None:
        options["user"] = settings.user
        if settings.password_file is not None:
            options["password"] = _read_secret(settings.password_file, "ISR_NATS_PASSWORD_FILE")
        elif settings.password is not None:
            options["password"] = settings.password.get_secret_value()
    context = tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options
