"""Per-identity NKey seeds on disk: what ``isr up`` gives each child to sign in with.

One file per identity, ``<dir>/<identity>.nk``, holding the user seed (``SU...``) and readable
by its owner only (0600, in a 0700 directory). Seeds are made once and reused at every start,
so a restart keeps everyone's identity; an identity that appears later (a new server's tailer)
gets its own seed then.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nkeys

from isr_cli.infra.errors import InfraError

SEED_SUFFIX = ".nk"


@dataclass(frozen=True)
class Identity:
    """One identity's seed file and the public key the server config names."""

    name: str
    seed_file: Path
    public_key: str


def new_user_seed() -> bytes:
    """A fresh NKey user seed (``SU...``) from the OS's randomness."""
    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed


def public_key(seed: bytes) -> str:
    """The public key (``U...``) of a user seed."""
    key: bytes = nkeys.from_seed(bytearray(seed)).public_key
    return key.decode()


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data + b"\n")


def ensure_seeds(directory: Path, names: Iterable[str]) -> dict[str, Identity]:
    """Load the seed of each identity in ``names``, making the missing ones (0600, dir 0700).

    Raises:
        InfraError: a seed file exists but is not a user seed (it is left as it is).
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    found: dict[str, Identity] = {}
    for name in names:
        path = directory / f"{name}{SEED_SUFFIX}"
        if not path.exists():
            _write_new(path, new_user_seed())
        path.chmod(0o600)
        seed = path.read_bytes().strip()
        try:
            if not seed.startswith(b"SU"):
                raise nkeys.ErrInvalidSeed
            key = public_key(seed)
        except nkeys.NkeysError as exc:
            msg = f"{path} is not an NKey user seed ({exc!r}); delete it to make a new one"
            raise InfraError(msg) from None
        found[name] = Identity(name, path, key)
    return found
