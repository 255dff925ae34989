"""Schemathesis against the served /openapi.json over real HTTP: whatever it sends, the API answers with a
documented status code, content type and body, and never with a server error.

Every operation is called with a viewer's token, on an app and a fake cluster of this module's own: the
state-changing ones are refused by role before anything reaches Proxmox, and even a hole there could not harm
the cluster the other tests share. Schemathesis' Python API drives Hypothesis here (its pytest plugin is off,
see pyproject.toml): one test walks every operation and names each that broke its document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.demo.seed import seed_cluster
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, ServedFake
from tests.servers import AppServer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and kind (valid, and invalid input): about a minute for the whole API here.
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 20, schemathesis.GenerationMode.NEGATIVE: 15}


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, str]]:
    """An app on a fake cluster and a SQLite database of its own, and a viewer's token."""
    pve = DemoPve()
    seed_cluster(pve, guests=12)
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    served = ServedFake(pve, tmp_path_factory.mktemp("fuzz-pki"))
    data = tmp_path_factory.mktemp("fuzz-data")
    own = app_settings(served, f"sqlite:///{data / 'fuzz.db'}", data)
    server = AppServer(own)
    try:
        yield server, make_token(own, make_user(own, "viewer"))
    finally:
        server.stop()
        served.stop()


def fuzz(
    operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, auth: dict[str, str]
) -> None:
    """Send the operation's generated cases and check each answer; raises at the first that breaks a check."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS, timeout=30)

    try:
        run()
    except Unsatisfiable:
        if mode is not schemathesis.GenerationMode.NEGATIVE:
            raise  # an operation that takes no input has no invalid input, but always a valid one


def test_every_operation_answers_as_the_openapi_document_says(own_app: tuple[AppServer, str]) -> None:
    server, token = own_app
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers=auth, timeout=30)
    labels, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        for mode in EXAMPLES:
            # Every operation is tried; those that broke their document are all named at the end.
            try:
                fuzz(operation, mode, auth)
            except (AssertionError, FailureGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert "GET /api/v1/guests/{vmid}" in labels and len(labels) > 20, labels
    assert not failures, "\n\n".join(failures)
