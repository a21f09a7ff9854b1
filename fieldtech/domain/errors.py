"""Errors a person can cause. Each carries one short line meant for that person."""


class FieldtechError(Exception):
    """Base of every error whose message is shown to the user as it is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(FieldtechError):
    pass


class RuleBroken(FieldtechError):
    """The trade's rules do not allow this (a transition, a missing reason, ...)."""


class BadInput(FieldtechError):
    """A value typed or sent is not acceptable."""


class CloseRefused(RuleBroken):
    """Closing a job was refused; `missing` lists every reason, in words."""

    def __init__(self, missing: list[str]):
        self.missing = list(missing)
        super().__init__("cannot close yet: " + "; ".join(self.missing))
