"""Amounts in GraphQL. Every amount of money is a `Money`: the exact decimal, the same rounded
half-even to six decimals as a number (what REST answers), and the currency. A budget's
amounts are a `BudgetAmount` in the budget's unit, USD or tokens, read the same way."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from meterr import wire
from meterr.schema.enums import BudgetUnit

__all__ = ["BudgetAmount", "CurrencyCode", "Money"]

_AMOUNT = "The exact amount, a decimal in plain notation."
_VALUE = "The amount as a number: USD rounded half-even to 6 decimals, as REST answers it."


@strawberry.enum(description="A currency, by its ISO 4217 code.")
class CurrencyCode(Enum):
    USD = "USD"


@strawberry.type(description="An amount of money, exact and as a number, with its currency.")
class Money:
    amount: Decimal = strawberry.field(description=_AMOUNT)
    value: float = strawberry.field(description=_VALUE)
    currency: CurrencyCode

    @classmethod
    def usd(cls, amount: Decimal) -> Money:
        return cls(amount=amount, value=wire.usd(amount), currency=CurrencyCode.USD)

    @classmethod
    def estimate(cls, amount: float) -> Money:
        """A forecast's estimate, which is no more exact than its six decimals."""
        return cls.usd(wire.estimated_usd(amount))


@strawberry.type(
    description="An amount in a budget's unit: USD, or tokens (whole numbers), exact and as "
    "a number."
)
class BudgetAmount:
    amount: Decimal = strawberry.field(description=_AMOUNT)
    value: float = strawberry.field(
        description="The amount as a number: USD rounded half-even to 6 decimals, as REST "
        "answers it, or the tokens."
    )
    unit: BudgetUnit

    @classmethod
    def of(cls, unit: BudgetUnit, amount: Decimal | int) -> BudgetAmount:
        """`amount` as `resolvers.budget_amount` gives it: a Decimal of USD, or tokens."""
        return cls(amount=Decimal(amount), value=float(wire.amount(amount)), unit=unit)
