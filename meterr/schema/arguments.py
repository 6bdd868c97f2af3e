"""GraphQL arguments turned into the domain's filters and groupings."""

from __future__ import annotations

from meterr import resolvers
from meterr.domain import GroupBy, UsageFilter
from meterr.errors import InvalidInput
from meterr.schema.enums import CostDimension
from meterr.schema.inputs import UsageFilterInput

__all__ = ["group_by_of", "usage_filter_of"]


def usage_filter_of(value: UsageFilterInput | None) -> UsageFilter:
    if value is None:
        return UsageFilter()
    return resolvers.usage_filter(
        providers=value.providers or (),
        models=value.models or (),
        team_ids=value.team_ids or (),
        user_ids=value.user_ids or (),
    )


def group_by_of(dimension: CostDimension, metadata_key: str | None) -> GroupBy:
    if dimension is CostDimension.METADATA:
        return resolvers.parse_group_by(f"metadata.{metadata_key or ''}")
    if metadata_key is not None:
        raise InvalidInput(
            "metadataKey is only used with groupBy: METADATA.",
            {"fields": {"metadataKey": "only with METADATA"}},
        )
    return GroupBy(dimension)
