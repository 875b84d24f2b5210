"""pbauth for Twisted: application brokers in Python whose logins pbauth decides.

- `PBAuthChecker`: the cred checker for a PB portal (logins by pbauth cookie).
- `AvatarId`, `status_of`, `Status`: what the realm learns about the login's session.
- `authenticate`, `login_with_cookie`: client helpers.
- `PBAuthError`: a failed pbauth call, with its precise ``pbauth.*`` type.

See README.md and docs/protocol.md in the pbauth repository.
"""

from ._checker import PBAuthChecker
from ._client import authenticate, login_with_cookie
from ._status import AvatarId, PBAuthError, Status, status_of

__all__ = ["PBAuthChecker", "AvatarId", "Status", "status_of", "PBAuthError", "authenticate", "login_with_cookie"]
__version__ = "0.1.0"
