"""The values pbauth answers (docs/protocol.md section 5) and the one error type."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

#: Account names: 1 to 64 ASCII letters, digits, ".", "_", "-" or "@" (protocol.md section 9).
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}\Z")

#: The longest PB challenge or response pbauth checks (protocol.md section 4.1).
MAXIMUM_CHALLENGE_BYTES = 1024


def is_account_name(name: object) -> bool:
    """Whether `name` is a str that pbauth accepts as an account name."""
    return isinstance(name, str) and _ACCOUNT_NAME.match(name) is not None


def recordable(name: object) -> str:
    """`name` when it is a valid account name, else a placeholder: what a log line may show."""
    return name if is_account_name(name) else "(invalid name)"  # type: ignore[return-value]


class PBAuthError(Exception):
    """A pbauth call that did not succeed.

    `type` is the precise reason, one of the `pbauth.*` failure types of protocol.md
    section 4.3 (for example ``"pbauth.NoSuchAccount"`` or ``"pbauth.UpstreamUnavailable"``,
    which this package also uses when the upstream cannot be reached or does not answer
    in time), or the type of another remote failure (``"builtins.TypeError"``).
    `message` is a short English text for logs. Neither ever holds a secret.
    """

    def __init__(self, type: str, message: str) -> None:
        super().__init__(type, message)
        self.type = type
        self.message = message

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass(frozen=True)
class Status:
    """The status of a login or of `authenticate` (protocol.md section 5).

    `session` is the session's id (not a secret), `expires` the Unix time at which its
    cookie stops being accepted, `master` true when this login started the session (a
    password login) and false for a cookie login. `cookie` is present only where the
    contract says so (the answer of `authenticate`, or a password login); it is a secret
    and is left out of ``repr()``.
    """

    username: str
    kind: str
    master: bool
    session: str
    expires: int
    cookie: Optional[str] = field(default=None, repr=False, compare=False)

    @classmethod
    def from_wire(cls, value: Any) -> "Status":
        """The status in a pbauth answer; `ValueError` when `value` is not one."""
        if not isinstance(value, dict):
            raise ValueError("the answer is not a dict")
        fields = {}
        for key, item in value.items():
            if isinstance(key, bytes):
                key = key.decode("utf-8", "replace")
            fields[key] = item

        def text(key: str) -> str:
            item = fields.get(key)
            if isinstance(item, bytes):
                item = item.decode("utf-8")
            if not isinstance(item, str):
                raise ValueError(f"the answer's {key!r} is not a str")
            return item

        kind = text("kind")
        if kind not in ("user", "broker"):
            raise ValueError("the answer's 'kind' is neither 'user' nor 'broker'")
        master = fields.get("master")
        if not isinstance(master, bool):
            raise ValueError("the answer's 'master' is not a bool")
        expires = fields.get("expires")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise ValueError("the answer's 'expires' is not an int")
        cookie = text("cookie") if fields.get("cookie") is not None else None
        return cls(username=text("username"), kind=kind, master=master, session=text("session"),
                   expires=expires, cookie=cookie)


class AvatarId(str):
    """The avatar id `PBAuthChecker` fires with: the account name, a plain `str` to
    everything that compares, hashes or formats it (``avatar_id == "alice"``), which also
    carries the login's `Status` as ``avatar_id.status``.

    A realm reads the session behind a login from it::

        def requestAvatar(self, avatar_id, mind, *interfaces):
            status = pbauth_twisted.status_of(avatar_id)   # or avatar_id.status
            ... status.session, status.expires, status.master ...

    Send ``str(avatar_id)`` (not the `AvatarId` itself) over PB: jelly accepts only plain
    strings.
    """

    status: Status

    def __new__(cls, status: Status) -> "AvatarId":
        self = super().__new__(cls, status.username)
        self.status = status
        return self

    def __reduce__(self) -> Tuple[Any, ...]:
        return (AvatarId, (self.status,))


def status_of(avatar_id: object) -> Optional[Status]:
    """The `Status` of the login behind `avatar_id` (what `PBAuthChecker` fired with), or
    ``None`` when it did not come from a `PBAuthChecker`."""
    status = getattr(avatar_id, "status", None)
    return status if isinstance(status, Status) else None
