"""What a person does. Each operation is ONE transaction: the rows and the outbox entry."""

from fieldtech.services.context import Device

__all__ = ["Device"]
