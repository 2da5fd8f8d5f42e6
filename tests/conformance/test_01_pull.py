"""Pull — port of distribution-spec ``conformance/01_pull_test.go`` (v1.1.1).

Setup pushes two configs, the layer, ``manifests[0]`` by tag and ``manifests[1]`` by digest; then
blobs and manifests are HEAD and GET, present and absent; teardown deletes manifests first
(``OCI_DELETE_MANIFEST_BEFORE_BLOBS``' default), then blobs. The Go suite's "Get tag name from
environment" (only for a registry populated beforehand) has no counterpart here.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.scenario import Run, Scenario, error_codes, expect_status, expect_success
from tests.conformance.testdata import (
    CONFIGS,
    DUMMY_DIGEST,
    ERROR_CODES,
    INVALID_MANIFEST_CONTENT,
    LAYER,
    MANIFESTS,
    NONEXISTENT_MANIFEST,
    OCI_MANIFEST,
    TEST_TAG_NAME,
)

pytestmark = pytest.mark.integration

pull = Scenario("Pull", "conformance/pull", tag="")
ACCEPT = {"Accept": OCI_MANIFEST}


def expect_digest_header(response: httpx.Response, digest: str) -> None:
    header = response.headers.get("Docker-Content-Digest")
    if header:  # optional, but right if present
        assert header == digest


# -- Setup ---------------------------------------------------------------------------------------
@pull.step()
def test_populate_registry_with_test_blob_0(reg: Run) -> None:
    """Populate registry with test blob (configs[0])"""
    expect_success(reg.upload(CONFIGS[0]))


@pull.step()
def test_populate_registry_with_test_blob_1(reg: Run) -> None:
    """Populate registry with test blob (configs[1])"""
    expect_success(reg.upload(CONFIGS[1]))


@pull.step()
def test_populate_registry_with_test_layer(reg: Run) -> None:
    """Populate registry with test layer"""
    expect_success(reg.upload(LAYER))


@pull.step()
def test_populate_registry_with_test_manifest_0(reg: Run) -> None:
    """Populate registry with test manifest (manifests[0], by tag)"""
    reg.tag = TEST_TAG_NAME
    expect_success(reg.put_manifest(reg.tag, MANIFESTS[0].content, OCI_MANIFEST))


@pull.step()
def test_populate_registry_with_test_manifest_1(reg: Run) -> None:
    """Populate registry with test manifest (manifests[1], by digest)"""
    expect_success(reg.put_manifest(MANIFESTS[1].digest, MANIFESTS[1].content, OCI_MANIFEST))


# -- Pull blobs ----------------------------------------------------------------------------------
@pull.step()
def test_head_request_to_nonexistent_blob_should_result_in_404_response(reg: Run) -> None:
    expect_status(reg.request("HEAD", "/v2/<name>/blobs/<digest>", digest=DUMMY_DIGEST), 404)


@pull.step()
def test_head_request_to_existing_blob_should_yield_200(reg: Run) -> None:
    response = reg.request("HEAD", "/v2/<name>/blobs/<digest>", digest=CONFIGS[0].digest)
    expect_status(response, 200)
    expect_digest_header(response, CONFIGS[0].digest)


@pull.step()
def test_get_nonexistent_blob_should_result_in_404_response(reg: Run) -> None:
    expect_status(reg.request("GET", "/v2/<name>/blobs/<digest>", digest=DUMMY_DIGEST), 404)


@pull.step()
def test_get_request_to_existing_blob_url_should_yield_200(reg: Run) -> None:
    expect_status(reg.request("GET", "/v2/<name>/blobs/<digest>", digest=CONFIGS[0].digest), 200)


# -- Pull manifests ------------------------------------------------------------------------------
@pull.step()
def test_head_request_to_nonexistent_manifest_should_return_404(reg: Run) -> None:
    response = reg.request("HEAD", "/v2/<name>/manifests/<reference>", reference=NONEXISTENT_MANIFEST)
    expect_status(response, 404)


@pull.step()
def test_head_request_to_manifest_0_path_digest_should_yield_200_response(reg: Run) -> None:
    response = reg.request("HEAD", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[0].digest,
                           headers=ACCEPT)
    expect_status(response, 200)
    expect_digest_header(response, MANIFESTS[0].digest)


@pull.step()
def test_head_request_to_manifest_1_path_digest_should_yield_200_response(reg: Run) -> None:
    response = reg.request("HEAD", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[1].digest,
                           headers=ACCEPT)
    expect_status(response, 200)
    expect_digest_header(response, MANIFESTS[1].digest)


@pull.step()
def test_head_request_to_manifest_path_tag_should_yield_200_response(reg: Run) -> None:
    assert reg.tag, "the setup pushed no tag"
    response = reg.request("HEAD", "/v2/<name>/manifests/<reference>", reference=reg.tag, headers=ACCEPT)
    expect_status(response, 200)
    expect_digest_header(response, MANIFESTS[0].digest)


@pull.step()
def test_get_nonexistent_manifest_should_return_404(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<reference>", reference=NONEXISTENT_MANIFEST)
    expect_status(response, 404)


@pull.step()
def test_get_request_to_manifest_0_path_digest_should_yield_200_response(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[0].digest,
                           headers=ACCEPT)
    expect_status(response, 200)


@pull.step()
def test_get_request_to_manifest_1_path_digest_should_yield_200_response(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[1].digest,
                           headers=ACCEPT)
    expect_status(response, 200)


@pull.step()
def test_get_request_to_manifest_path_tag_should_yield_200_response(reg: Run) -> None:
    assert reg.tag, "the setup pushed no tag"
    response = reg.request("GET", "/v2/<name>/manifests/<reference>", reference=reg.tag, headers=ACCEPT)
    expect_status(response, 200)


# -- Error codes ---------------------------------------------------------------------------------
@pull.step(distribution="a malformed digest reference is taken for a tag, and the storage driver refuses "
                        "the ':' in the tag's path: 500 UNKNOWN, not 400 with a spec error code or 404")
def test_400_response_body_should_contain_oci_conforming_json_message(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<reference>", reference="sha256:totallywrong",
                           headers={"Content-Type": OCI_MANIFEST}, content=INVALID_MANIFEST_CONTENT)
    expect_status(response, 400, 404)
    if response.status_code == 400:
        codes = error_codes(response)
        assert codes and codes[0] in ERROR_CODES, codes


# -- Teardown ------------------------------------------------------------------------------------
@pull.step()
def test_delete_manifest_0_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[0].digest)
    expect_success(response, 405)


@pull.step()
def test_delete_manifest_1_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[1].digest)
    expect_success(response, 405)


@pull.step()
def test_delete_config_0_blob_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=CONFIGS[0].digest)
    expect_success(response, 404, 405)


@pull.step()
def test_delete_config_1_blob_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=CONFIGS[1].digest)
    expect_success(response, 404, 405)


@pull.step()
def test_delete_layer_blob_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=LAYER.digest)
    expect_success(response, 404, 405)
