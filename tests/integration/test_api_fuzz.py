"""Property-based fuzzing of the session API from its own OpenAPI schema (schemathesis).

Every operation, with generated valid and invalid input: no 5xx, every status code, content
type and body conforms to the schema the API publishes, and no response carries a secret (the
LiveKit API secret, the provider keys in the API's environment). The number of examples is
bounded.
"""

import schemathesis
from hypothesis import HealthCheck, settings

from harness.session_api import PROVIDER_KEYS
from session_api.main import create_app
from session_api.settings import Settings

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
    response = case.call_and_validate(base_url=session_api.url)

    secrets = [session_api.env["LIVEKIT_API_SECRET"], *PROVIDER_KEYS.values()]
    headers = "\n".join(
        f"{name}: {value}" for name, values in response.headers.items() for value in values
    )
    for secret in secrets:
        assert secret not in response.text and secret not in headers, case.operation.label
