"""The Go conformance suite's way of running, as pytest tests: ordered steps over shared variables.

In the Go suite each category (pull, push, content discovery, content management) is a sequence
of Ginkgo ``Specify`` blocks that share variables (``lastResponse``, ``tag``, …) and build on each
other: a chunked upload is begun in one step and finished three steps later. Here each step is one
pytest test, written once against a plain base URL and parametrized over the registries under test
(``SERVERS``). A ``Run`` holds one category's variables for one registry; a test first runs every
earlier step of its category that has not run yet (remembering each outcome, as Ginkgo goes on
after a failed spec), then its own — so a test passes or fails the same whether it runs alone
(``-k``), in order, or on another pytest-xdist worker with registries of its own. Each category
has a repository of its own, so categories never disturb each other.

A step where a registry knowingly departs from the spec is declared with the server's name and
the reason (``@pull.step(distribution="…")``): for that server only it becomes
``xfail(strict=True)``, so it must keep failing, and every such reason is listed in
DEVIATIONS.md.

>>> Scenario("Example", "conformance/example").step(registry3="typo")(lambda reg: None)
Traceback (most recent call last):
...
ValueError: deviation for unknown server(s) ['registry3']; servers are minidock, distribution
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

#: The registries every conformance test runs against: ours, and CNCF distribution 2.8.
SERVERS = ("minidock", "distribution")

Step = Callable[["Run"], None]
_OUTCOMES = (Exception, pytest.skip.Exception, pytest.fail.Exception, pytest.xfail.Exception)


class ConformanceWarning(UserWarning):
    """The Go suite's ``Warn``: allowed by the spec, but worth knowing (no layers, no filtering)."""


def warn(message: str) -> None:
    warnings.warn(message, ConformanceWarning, stacklevel=2)


def run_only_if(condition: bool, why: str) -> None:
    """The Go suite's ``RunOnlyIf``: this step applies only in some cases."""
    if not condition:
        pytest.skip(why)


@dataclass
class Target:
    """One registry under test: what it is, where, and what it declares about itself."""

    server: str
    url: str
    #: Does ``POST ?mount=`` without ``from`` find the blob by itself? (``OCI_AUTOMATIC_CROSSMOUNT``)
    automatic_crossmount: bool | None = None
    client: httpx.Client = field(init=False)
    runs: dict[str, Run] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30,
                                   headers={"User-Agent": "distribution-spec-conformance-tests"})

    def run(self, scenario: Scenario) -> Run:
        if scenario.title not in self.runs:
            self.runs[scenario.title] = Run(self, scenario)
        return self.runs[scenario.title]

    def close(self) -> None:
        self.client.close()


class Run:
    """One category against one registry: the Go closure's variables, and each step's outcome."""

    def __init__(self, target: Target, scenario: Scenario) -> None:
        self.target, self.scenario = target, scenario
        self.server = target.server
        #: ``OCI_NAMESPACE``: this category's repository.
        self.name = scenario.repository
        #: ``OCI_CROSSMOUNT_NAMESPACE``: a repository of its own, as the Go suite makes one per run.
        self.crossmount_name = f"conformance-{uuid.uuid4()}"
        self.outcomes: dict[int, BaseException | None] = {}
        for key, value in scenario.state.items():
            setattr(self, key, value)

    def __getattr__(self, key: str) -> Any:  # the scenario's variables, for type checkers
        raise AttributeError(f"{self.scenario.title} has no variable {key!r}")

    def through(self, index: int) -> None:
        for earlier in range(index + 1):
            if earlier not in self.outcomes:
                self.outcomes[earlier] = self._attempt(self.scenario.steps[earlier])
        outcome = self.outcomes[index]
        if outcome is not None:
            raise outcome

    def _attempt(self, step: Step) -> BaseException | None:
        try:
            step(self)
        except _OUTCOMES as outcome:
            return outcome
        return None

    # -- reggie's requests ---------------------------------------------------------------------
    def request(self, method: str, path: str, *, name: str | None = None, reference: str | None = None,
                digest: str | None = None, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
        """reggie's ``NewRequest``: ``<name>``, ``<reference>`` and ``<digest>`` filled in, query
        parameters merged into any the path already has (distribution's ``_state``)."""
        path = path.replace("<name>", name or self.name)
        if reference is not None:
            path = path.replace("<reference>", reference)
        if digest is not None:
            path = path.replace("<digest>", digest)
        url = httpx.URL(path)
        if params:
            url = url.copy_merge_params(params)
        return self.target.client.request(method, str(url), headers=headers, content=content)

    def upload(self, blob: Any) -> httpx.Response:
        """The setup steps' POST then monolithic PUT of a blob (``testdata.Blob``)."""
        response = self.request("POST", "/v2/<name>/blobs/uploads/")
        return self.request("PUT", relative_location(response), params={"digest": blob.digest},
                            headers={"Content-Type": "application/octet-stream"}, content=blob.content)

    def put_manifest(self, reference: str, body: bytes, media_type: str) -> httpx.Response:
        return self.request("PUT", "/v2/<name>/manifests/<reference>", reference=reference,
                            headers={"Content-Type": media_type}, content=body)


class Scenario:
    """One Go test file: a title, a repository, the shared variables' initial values, the steps."""

    def __init__(self, title: str, repository: str, **state: Any) -> None:
        self.title, self.repository, self.state = title, repository, state
        self.steps: list[Step] = []
        #: test name -> {server: reason}, for DEVIATIONS.md
        self.deviations: dict[str, dict[str, str]] = {}

    def step(self, **deviations: str) -> Callable[[Step], Any]:
        """Register the next step; ``server="reason"`` marks where that server departs from the spec."""
        unknown = sorted(set(deviations) - set(SERVERS))
        if unknown:
            raise ValueError(f"deviation for unknown server(s) {unknown}; servers are {', '.join(SERVERS)}")

        def register(step: Step) -> Any:
            index = len(self.steps)
            self.steps.append(step)
            if deviations:
                self.deviations[step.__name__] = dict(deviations)

            def test(target: Target) -> None:
                target.run(self).through(index)

            test.__name__, test.__qualname__ = step.__name__, step.__qualname__
            test.__module__, test.__doc__ = step.__module__, step.__doc__
            params = [pytest.param(server, id=server, marks=[
                          pytest.mark.xfail(strict=True, reason=f"{server}: {deviations[server]}")
                      ] if server in deviations else []) for server in SERVERS]
            return pytest.mark.parametrize("target", params, indirect=True)(test)

        return register


# -- what the Go suite checks, one line each -----------------------------------------------------
def describe(response: httpx.Response) -> str:
    body = response.text[:300] if response.request.method != "HEAD" else ""
    target = response.request.url.raw_path.decode()
    return f"{response.request.method} {target} -> {response.status_code} {body}"


def expect_status(response: httpx.Response, *allowed: int) -> None:
    assert response.status_code in allowed, f"expected {' or '.join(map(str, allowed))}: {describe(response)}"


def expect_success(response: httpx.Response, *also: int) -> None:
    """``SatisfyAll(BeNumerically(">=", 200), BeNumerically("<", 300))``, or one of ``also``."""
    assert 200 <= response.status_code < 300 or response.status_code in also, \
        f"expected 2xx{''.join(f' or {s}' for s in also)}: {describe(response)}"


def relative_location(response: httpx.Response) -> str:
    """reggie's ``GetRelativeLocation``: the Location's path and query, whatever host it names."""
    location = response.headers.get("location", "")
    return httpx.URL(location).raw_path.decode() if location else ""


def error_codes(response: httpx.Response) -> list[str]:
    """The ``code`` of each entry of a spec error body (reggie's ``Errors``)."""
    errors = response.json().get("errors")
    assert isinstance(errors, list), f"no errors list in the body: {describe(response)}"
    return [str(entry.get("code")) for entry in errors]


def tag_list(response: httpx.Response) -> list[str]:
    """setup.go's ``getTagList``: the tags, or none if the body is not a tag list."""
    try:
        tags = response.json().get("tags")
    except (ValueError, AttributeError):
        return []
    return list(tags or [])
