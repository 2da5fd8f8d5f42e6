"""Content discovery — port of distribution-spec ``conformance/03_discovery_test.go`` (v1.1.1).

Listing tags (all of them, ``n`` of them, those after ``last``) and listing referrers: a subject
with none, one with five (two image artifacts typed by their config, two typed by
``artifactType``, an index), the same filtered by ``artifactType``, and a subject that was never
pushed but has a referrer. The Go suite's "(no push)" setup, for a registry populated beforehand
(``OCI_TAG_LIST``), has no counterpart here.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.scenario import Run, Scenario, describe, expect_status, expect_success, tag_list, warn
from tests.conformance.testdata import (
    ANNOTATION_KEY,
    ANNOTATION_VALUES,
    ARTIFACT_TYPE_FILTER,
    CONFIGS,
    DUMMY_DIGEST,
    EMPTY_JSON,
    EMPTY_JSON_DIGEST,
    LAYER,
    MANIFESTS,
    OCI_INDEX,
    OCI_MANIFEST,
    REFS_INDEX_ARTIFACT,
    REFS_MANIFEST_A_CONFIG_ARTIFACT,
    REFS_MANIFEST_A_LAYER_ARTIFACT,
    REFS_MANIFEST_B_CONFIG_ARTIFACT,
    REFS_MANIFEST_B_LAYER_ARTIFACT,
    REFS_MANIFEST_C_LAYER_ARTIFACT,
    TEST_REF_ARTIFACT_TYPE_A,
    TEST_REF_BLOB_A,
    TEST_REF_BLOB_B,
    TEST_TAG_NAME,
)

pytestmark = pytest.mark.integration

discovery = Scenario("Content Discovery", "conformance/discovery", num_tags=4, tag_list=[])

NO_REFERRERS_API = ("2.8 predates the referrers API (spec v1.1): "
                    "GET /v2/<name>/referrers/<digest> is not a route, 404")
NO_TAG_PAGINATION = ("2.8's tags/list ignores n and last and always answers every tag "
                     "(pagination of tags came in distribution 3.0)")


# -- Setup ---------------------------------------------------------------------------------------
@discovery.step()
def test_populate_registry_with_test_blob(reg: Run) -> None:
    expect_success(reg.upload(CONFIGS[2]))


@discovery.step()
def test_populate_registry_with_test_layer(reg: Run) -> None:
    expect_success(reg.upload(LAYER))


@discovery.step()
def test_populate_registry_with_test_tags(reg: Run) -> None:
    for i in range(reg.num_tags):
        expect_success(reg.put_manifest(f"test{i}", MANIFESTS[2].content, OCI_MANIFEST))
    reg.tag_list = tag_list(reg.request("GET", "/v2/<name>/tags/list"))


@discovery.step(distribution="2.8 stores a manifest's subject as an unknown field: it "
                             "answers the push without the OCI-Subject header (spec v1.1)")
def test_references_setup(reg: Run) -> None:
    # Every push is made before any OCI-Subject header is checked, so a registry without the
    # header still holds the same content for the steps after this one.
    assert EMPTY_JSON_DIGEST == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    subjects: list[tuple[str, str | None, str]] = []

    def put(blob: object, media_type: str, subject: str) -> None:
        response = reg.put_manifest(blob.digest, blob.content, media_type)  # type: ignore[attr-defined]
        expect_success(response)
        subjects.append((describe(response), response.headers.get("OCI-Subject"), subject))

    expect_success(reg.upload(EMPTY_JSON))
    expect_success(reg.upload(TEST_REF_BLOB_A))  # before the subject is pushed
    put(REFS_MANIFEST_A_CONFIG_ARTIFACT, OCI_MANIFEST, MANIFESTS[4].digest)
    put(REFS_MANIFEST_A_LAYER_ARTIFACT, OCI_MANIFEST, MANIFESTS[4].digest)
    put(REFS_INDEX_ARTIFACT, OCI_INDEX, MANIFESTS[4].digest)
    expect_success(reg.upload(CONFIGS[4]))
    expect_success(reg.upload(LAYER))
    expect_success(reg.put_manifest(TEST_TAG_NAME, MANIFESTS[4].content, OCI_MANIFEST))
    expect_success(reg.upload(TEST_REF_BLOB_B))  # after the subject is pushed
    put(REFS_MANIFEST_B_CONFIG_ARTIFACT, OCI_MANIFEST, MANIFESTS[4].digest)
    put(REFS_MANIFEST_B_LAYER_ARTIFACT, OCI_MANIFEST, MANIFESTS[4].digest)
    put(REFS_MANIFEST_C_LAYER_ARTIFACT, OCI_MANIFEST, MANIFESTS[3].digest)  # a subject never pushed
    for request, header, subject in subjects:
        assert header == subject, f"OCI-Subject {header!r}, expected {subject}: {request}"


# -- Test content discovery endpoints (listing tags) ---------------------------------------------
@discovery.step()
def test_get_request_to_list_tags_should_yield_200_response(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/tags/list")
    expect_status(response, 200)
    reg.tag_list = tag_list(response)
    reg.num_tags = len(reg.tag_list)


@discovery.step(distribution=NO_TAG_PAGINATION)
def test_get_number_of_tags_should_be_limitable_by_n_query_parameter(reg: Run) -> None:
    num_results = reg.num_tags // 2
    response = reg.request("GET", "/v2/<name>/tags/list", params={"n": str(num_results)})
    expect_status(response, 200)
    reg.tag_list = tag_list(response)
    assert len(reg.tag_list) == num_results, reg.tag_list


@discovery.step(distribution=NO_TAG_PAGINATION)
def test_get_start_of_tag_is_set_by_last_query_parameter(reg: Run) -> None:
    # The Go step checks the first page again (its assertions read tagList before it is
    # reassigned); this port checks the second page, as the step's name says: at most n tags,
    # all after `last`.
    num_results = reg.num_tags // 2
    response = reg.request("GET", "/v2/<name>/tags/list", params={"n": str(num_results)})
    reg.tag_list = tag_list(response)
    assert len(reg.tag_list) >= num_results, reg.tag_list
    last = reg.tag_list[num_results - 1]
    response = reg.request("GET", "/v2/<name>/tags/list", params={"n": str(num_results), "last": last})
    expect_status(response, 200)
    page = tag_list(response)
    assert len(page) <= num_results, page
    assert last not in page and all(tag > last for tag in page), (last, page)


# -- Test content discovery endpoints (listing references) ---------------------------------------
def _referrers(reg: Run, digest: str, **params: str) -> tuple[httpx.Response, list[dict[str, object]]]:
    response = reg.request("GET", "/v2/<name>/referrers/<digest>", digest=digest, params=params or None)
    expect_status(response, 200)
    assert response.headers.get("Content-Type") == OCI_INDEX, describe(response)
    manifests = response.json().get("manifests")
    assert isinstance(manifests, list), describe(response)
    return response, manifests


def _expect_annotations(manifests: list[dict[str, object]]) -> None:
    for entry in manifests:
        annotations = entry.get("annotations")
        assert isinstance(annotations, dict) and len(annotations) == 1, entry
        assert annotations[ANNOTATION_KEY] == ANNOTATION_VALUES[str(entry["digest"])], entry


@discovery.step(distribution=NO_REFERRERS_API)
def test_get_request_to_nonexistent_blob_should_result_in_empty_200_response(reg: Run) -> None:
    _, manifests = _referrers(reg, DUMMY_DIGEST)
    assert manifests == []


@discovery.step(distribution=NO_REFERRERS_API)
def test_get_request_to_existing_blob_should_yield_200(reg: Run) -> None:
    _, manifests = _referrers(reg, MANIFESTS[4].digest)
    assert len(manifests) == 5, manifests
    assert manifests[0]["digest"] != manifests[1]["digest"]
    _expect_annotations(manifests)


@discovery.step(distribution=NO_REFERRERS_API)
def test_get_request_to_existing_blob_with_filter_should_yield_200(reg: Run) -> None:
    response, manifests = _referrers(reg, MANIFESTS[4].digest, artifactType=TEST_REF_ARTIFACT_TYPE_A)
    if response.headers.get("OCI-Filters-Applied"):
        assert len(manifests) == 2, manifests
        assert response.headers["OCI-Filters-Applied"] == ARTIFACT_TYPE_FILTER
    else:
        assert len(manifests) == 5, manifests
        warn("filtering by artifact-type is not implemented")
    _expect_annotations(manifests)


@discovery.step(distribution=NO_REFERRERS_API)
def test_get_request_to_missing_manifest_should_yield_200(reg: Run) -> None:
    _, manifests = _referrers(reg, MANIFESTS[3].digest)
    assert len(manifests) == 1, manifests
    assert manifests[0]["digest"] == REFS_MANIFEST_C_LAYER_ARTIFACT.digest


# -- Teardown ------------------------------------------------------------------------------------
CREATED_MANIFESTS = [REFS_INDEX_ARTIFACT.digest, MANIFESTS[2].digest, MANIFESTS[4].digest,
                     REFS_MANIFEST_A_CONFIG_ARTIFACT.digest, REFS_MANIFEST_A_LAYER_ARTIFACT.digest,
                     REFS_MANIFEST_B_CONFIG_ARTIFACT.digest, REFS_MANIFEST_B_LAYER_ARTIFACT.digest,
                     REFS_MANIFEST_C_LAYER_ARTIFACT.digest]


@discovery.step()
def test_delete_created_manifest_and_associated_tags(reg: Run) -> None:
    for digest in CREATED_MANIFESTS:
        response = reg.request("DELETE", "/v2/<name>/manifests/<digest>", digest=digest)
        expect_success(response, 404, 405)


@discovery.step()
def test_delete_config_blob_created_in_tests(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=CONFIGS[2].digest)
    expect_success(response, 404, 405)


@discovery.step()
def test_delete_layer_blob_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=LAYER.digest)
    expect_success(response, 404, 405)


@discovery.step()
def test_references_teardown(reg: Run) -> None:
    # Manifests again (already gone: 404 is fine), then the blobs the references setup pushed.
    for digest in (REFS_INDEX_ARTIFACT.digest, REFS_MANIFEST_A_CONFIG_ARTIFACT.digest,
                   REFS_MANIFEST_A_LAYER_ARTIFACT.digest, MANIFESTS[4].digest,
                   REFS_MANIFEST_B_CONFIG_ARTIFACT.digest, REFS_MANIFEST_B_LAYER_ARTIFACT.digest):
        expect_success(reg.request("DELETE", "/v2/<name>/manifests/<reference>", reference=digest), 404, 405)
    for digest in (CONFIGS[4].digest, TEST_REF_BLOB_A.digest, TEST_REF_BLOB_B.digest, EMPTY_JSON.digest):
        expect_success(reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=digest), 404, 405)
