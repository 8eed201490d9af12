"""Property-based fuzzing of the session API from its own OpenAPI schema (schemathesis).

Every operation, with generated valid and invalid input: no 5xx, and every status code, content
type and body conforms to the schema the API publishes. The number of examples is bounded.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from session_api.main import create_app
from session_api.settings import Settings

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 30

# The schema the running API serves at /openapi.json, built in-process so the tests can be
# generated at collection time; the calls go to the real API started by the fixtures.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_every_operation_conforms_to_its_schema(case, session_api):
    case.call_and_validate(base_url=session_api.url)
