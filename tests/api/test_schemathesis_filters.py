"""Schemathesis' negative checks on the filters of the reads: requests whose query strings
break the documented schema (an unknown enumerated value, a time in another form, a number
that is not one, an unknown parameter) must be refused with a documented 4xx, never
answered 200 or 500. Bounded (a fixed seed, a few cases per operation, a 60 s timeout) and
in process, on the app and demo data of ``test_schemathesis``."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode

from tests.api.test_schemathesis import APP, CONFIG, demo_key

__all__ = ["demo_key"]  # the module-scoped fixture this test shares

READS = (
    r"^/v1/(organizations/\{organization_id\}/(audit-trail|campaign-states|register"
    r"|reports/handling|exceptions|decisions|integrity/bundle)|campaigns/\{campaign_id\}(/state)?"
    r"|recommendations/\{recommendation_id\})$"
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG).include(
    method="GET", path_regex=READS
)
schema.config.generation.update(modes=[GenerationMode.NEGATIVE])
MAX_EXAMPLES = int(os.environ.get("LEDGER_SCHEMATHESIS_FILTER_EXAMPLES", "15"))


@pytest.mark.timeout(60)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_query_string_outside_the_documented_filters_is_refused(
    case: schemathesis.Case, demo_key: str
) -> None:
    """Every negative case on a read with filters gets a documented 4xx (schemathesis'
    negative_data_rejection), no 5xx, and a problem document as documented."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {demo_key}"}, excluded_checks=[positive_data_acceptance]
    )
