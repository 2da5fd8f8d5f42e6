"""Content management — port of distribution-spec ``conformance/04_management_test.go`` (v1.1.1).

Delete a tag, then the manifest by digest, and see both gone from GET and the tag list; delete
blobs and see them gone.
"""

from __future__ import annotations

import pytest

from tests.conformance.scenario import Run, Scenario, error_codes, expect_status, expect_success, tag_list
from tests.conformance.testdata import CONFIGS, LAYER, MANIFESTS, OCI_MANIFEST

pytestmark = pytest.mark.integration

DEFAULT_TAG_NAME = "tagtest0"
management = Scenario("Content Management", "conformance/management", tag_to_delete="", num_tags=0,
                      blob_delete_allowed=True)


# -- Setup ---------------------------------------------------------------------------------------
@management.step()
def test_populate_registry_with_test_config_blob(reg: Run) -> None:
    expect_success(reg.upload(CONFIGS[3]))


@management.step()
def test_populate_registry_with_test_layer(reg: Run) -> None:
    expect_success(reg.upload(LAYER))


@management.step()
def test_populate_registry_with_test_tag(reg: Run) -> None:
    reg.tag_to_delete = DEFAULT_TAG_NAME
    expect_success(reg.put_manifest(reg.tag_to_delete, MANIFESTS[3].content, OCI_MANIFEST))


@management.step()
def test_check_how_many_tags_there_are_before_anything_gets_deleted(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/tags/list")
    expect_status(response, 200)
    reg.num_tags = len(tag_list(response))


# -- Manifest delete -----------------------------------------------------------------------------
@management.step(distribution="no tag deletion in 2.8: DELETE manifests/<tag> deletes by the (empty) "
                              "digest and answers 400 DIGEST_INVALID, where the spec allows 400 only with "
                              "UNSUPPORTED (or 202, or 405)")
def test_delete_request_to_manifest_tag_should_return_202_unless_tag_deletion_is_disallowed_400_405(
        reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/manifests/<reference>", reference=reg.tag_to_delete)
    expect_status(response, 400, 202, 405)
    if response.status_code == 400:
        codes = error_codes(response)
        assert codes and codes[0] == "UNSUPPORTED", codes


@management.step()
def test_delete_request_to_manifest_digest_should_yield_202_response_unless_already_deleted(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[3].digest)
    expect_status(response, 202, 404)


@management.step()
def test_get_request_to_deleted_manifest_url_should_yield_404_response_unless_delete_is_disallowed(
        reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[3].digest)
    expect_status(response, 404, 200)


@management.step()
def test_get_request_to_tags_list_should_reflect_manifest_deletion(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/tags/list")
    expect_status(response, 404, 200)
    expect_tags = reg.num_tags - 1
    if response.status_code == 200:
        assert len(tag_list(response)) == expect_tags, tag_list(response)
    else:
        assert expect_tags == 0


# -- Blob delete ---------------------------------------------------------------------------------
@management.step()
def test_delete_request_to_blob_url_should_yield_202_response(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=CONFIGS[3].digest)
    expect_status(response, 202, 404, 405)
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=LAYER.digest)
    expect_status(response, 202, 404, 405)
    if response.status_code == 405:
        reg.blob_delete_allowed = False


@management.step()
def test_get_request_to_deleted_blob_url_should_yield_404_response(reg: Run) -> None:
    if not reg.blob_delete_allowed:
        pytest.skip("the registry does not delete blobs (405)")
    expect_status(reg.request("GET", "/v2/<name>/blobs/<digest>", digest=CONFIGS[3].digest), 404)
