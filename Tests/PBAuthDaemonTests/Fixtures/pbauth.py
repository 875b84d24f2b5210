"""The failure types of the pbauth contract, for the Twisted fixtures.

Their qualified names (pbauth.NoSuchAccount, ...) and parents are what travels
on the wire, so a Twisted master raising them looks like a pbauth master.
"""
from twisted.cred.error import UnauthorizedLogin


class NoSuchAccount(UnauthorizedLogin):
    pass


class InvalidPassword(UnauthorizedLogin):
    pass


class AuthenticationCookieMismatch(UnauthorizedLogin):
    pass


class AccountDisabled(UnauthorizedLogin):
    pass


class LockedOut(UnauthorizedLogin):
    pass


class HopLimitExceeded(UnauthorizedLogin):
    pass
