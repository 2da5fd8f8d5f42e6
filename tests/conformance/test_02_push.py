"""Push — port of distribution-spec ``conformance/02_push_test.go`` (v1.1.1).

Streamed (POST, PATCH, PUT), monolithic (POST ``?digest=``, and POST then PUT) and chunked uploads
(out-of-order and repeated chunks are 416; GET on the session reports its Range), cross-repository
mounts, manifest uploads (four tags, and one manifest with no layers), then teardown.
"""

from __future__ import annotations

import pytest

from tests.conformance.scenario import (
    Run,
    Scenario,
    expect_status,
    expect_success,
    relative_location,
    run_only_if,
    warn,
)
from tests.conformance.testdata import (
    CONFIGS,
    DUMMY_DIGEST,
    EMPTY_LAYER_MANIFEST,
    EMPTY_LAYER_TEST_TAG,
    LAYER,
    MANIFESTS,
    NONEXISTENT_MANIFEST,
    OCI_MANIFEST,
    TEST_BLOB_A,
    TEST_BLOB_B,
    TEST_BLOB_B_CHUNK1,
    TEST_BLOB_B_CHUNK1_RANGE,
    TEST_BLOB_B_CHUNK2,
    TEST_BLOB_B_CHUNK2_RANGE,
)

pytestmark = pytest.mark.integration

push = Scenario("Push", "conformance/push", last_response=None, prev_response=None,
                empty_layer_manifest_ref="")
OCTETS = {"Content-Type": "application/octet-stream"}

# distribution 2.8 signs the upload's offset into the Location's ``_state`` and refuses a request
# whose _state offset is not the upload's size (handlers/blobupload.go, "upload resumed at wrong
# offset") with 404 BLOB_UPLOAD_INVALID; and its PATCH ignores Content-Range ("TODO(dmcgowan):
# support Content-Range header to seek and write range").
STALE_STATE = ("the first Location's _state says offset 0, the upload holds 22 bytes: the answer "
               "is 404 BLOB_UPLOAD_INVALID (\"upload resumed at wrong offset\")")


# -- Blob Upload Streamed ------------------------------------------------------------------------
@push.step()
def test_patch_request_with_blob_in_body_should_yield_202_response(reg: Run) -> None:
    response = reg.request("POST", "/v2/<name>/blobs/uploads/")
    assert response.headers.get("Location"), "POST gave no Location"
    response = reg.request("PATCH", relative_location(response), headers=OCTETS, content=TEST_BLOB_A.content)
    expect_status(response, 202)
    reg.last_response = response


@push.step()
def test_put_request_to_session_url_with_digest_should_yield_201_response(reg: Run) -> None:
    # The Go request sets Content-Length: 42 but sends no body; Go's transport sends the real
    # length (0), which is what happens here.
    assert reg.last_response is not None
    response = reg.request("PUT", relative_location(reg.last_response), params={"digest": TEST_BLOB_A.digest},
                           headers=OCTETS, content=b"")
    expect_status(response, 201)
    assert response.headers.get("Location"), "no Location for the blob"


# -- Blob Upload Monolithic ----------------------------------------------------------------------
@push.step()
def test_get_nonexistent_blob_should_result_in_404_response(reg: Run) -> None:
    expect_status(reg.request("GET", "/v2/<name>/blobs/<digest>", digest=DUMMY_DIGEST), 404)


@push.step()
def test_post_request_with_digest_and_blob_should_yield_a_201_or_202(reg: Run) -> None:
    response = reg.request("POST", "/v2/<name>/blobs/uploads/", params={"digest": CONFIGS[1].digest},
                           headers=OCTETS, content=CONFIGS[1].content)
    assert response.headers.get("Location"), "no Location"
    expect_status(response, 201, 202)
    reg.last_response = response


@push.step()
def test_get_request_to_blob_url_from_prior_request_should_yield_200_or_404_based_on_response_code(
        reg: Run) -> None:
    assert reg.last_response is not None
    response = reg.request("GET", "/v2/<name>/blobs/<digest>", digest=CONFIGS[1].digest)
    expect_status(response, 404 if reg.last_response.status_code == 202 else 200)


@push.step()
def test_post_request_should_yield_a_session_id(reg: Run) -> None:
    response = reg.request("POST", "/v2/<name>/blobs/uploads/")
    expect_status(response, 202)
    reg.last_response = response


@push.step()
def test_put_upload_of_a_blob_should_yield_a_201_response(reg: Run) -> None:
    response = reg.request("PUT", relative_location(reg.last_response), params={"digest": CONFIGS[1].digest},
                           headers=OCTETS, content=CONFIGS[1].content)
    assert response.headers.get("Location"), "no Location"
    expect_status(response, 201)


@push.step()
def test_get_request_to_existing_blob_should_yield_200_response(reg: Run) -> None:
    expect_status(reg.request("GET", "/v2/<name>/blobs/<digest>", digest=CONFIGS[1].digest), 200)


@push.step()
def test_put_upload_of_a_layer_blob_should_yield_a_201_response(reg: Run) -> None:
    response = reg.upload(LAYER)
    assert response.headers.get("Location"), "no Location"
    expect_status(response, 201)


@push.step()
def test_get_request_to_existing_layer_should_yield_200_response(reg: Run) -> None:
    expect_status(reg.request("GET", "/v2/<name>/blobs/<digest>", digest=LAYER.digest), 200)


# -- Blob Upload Chunked -------------------------------------------------------------------------
# (The Go suite rebuilds its chunks if a registry asks for a larger OCI-Chunk-Min-Length; neither
# registry here sends that header, and the test fails if one starts to.)
def _start_chunked(reg: Run) -> object:
    response = reg.request("POST", "/v2/<name>/blobs/uploads/", content=b"")
    assert response.headers.get("Location"), "no Location"
    assert "OCI-Chunk-Min-Length" not in response.headers, "the chunks would need to be rebuilt"
    return response


@push.step(distribution="PATCH ignores Content-Range and appends the chunk at the upload's end: 202, "
                        "not 416")
def test_out_of_order_blob_upload_should_return_416(reg: Run) -> None:
    response = _start_chunked(reg)
    response = reg.request("PATCH", relative_location(response),  # type: ignore[arg-type]
                           headers={**OCTETS, "Content-Range": TEST_BLOB_B_CHUNK2_RANGE},
                           content=TEST_BLOB_B_CHUNK2)
    expect_status(response, 416)


@push.step()
def test_patch_request_with_first_chunk_should_return_202(reg: Run) -> None:
    response = reg.prev_response = _start_chunked(reg)
    response = reg.request("PATCH", relative_location(response),  # type: ignore[arg-type]
                           headers={**OCTETS, "Content-Range": TEST_BLOB_B_CHUNK1_RANGE},
                           content=TEST_BLOB_B_CHUNK1)
    expect_status(response, 202)
    assert response.headers.get("Range") == TEST_BLOB_B_CHUNK1_RANGE
    reg.last_response = response


@push.step(distribution=f"re-sending the first chunk: {STALE_STATE}, not 416")
def test_retry_previous_blob_chunk_should_return_416(reg: Run) -> None:
    response = reg.request("PATCH", relative_location(reg.prev_response),
                           headers={**OCTETS, "Content-Range": TEST_BLOB_B_CHUNK1_RANGE},
                           content=TEST_BLOB_B_CHUNK1)
    expect_status(response, 416)


@push.step(distribution=f"GET on the upload's first Location: {STALE_STATE}, not 204 with the Range")
def test_get_on_stale_blob_upload_should_return_204_with_a_range_and_location(reg: Run) -> None:
    response = reg.request("GET", relative_location(reg.prev_response))
    expect_status(response, 204)
    assert response.headers.get("Location"), "no Location"
    assert response.headers.get("Range") == TEST_BLOB_B_CHUNK1_RANGE
    reg.last_response = response


@push.step()
def test_patch_request_with_second_chunk_should_return_202(reg: Run) -> None:
    response = reg.request("PATCH", relative_location(reg.last_response),
                           headers={**OCTETS, "Content-Range": TEST_BLOB_B_CHUNK2_RANGE},
                           content=TEST_BLOB_B_CHUNK2)
    expect_status(response, 202)
    assert response.headers.get("Location"), "no Location"
    reg.last_response = response


@push.step()
def test_put_request_with_digest_should_return_201(reg: Run) -> None:
    response = reg.request("PUT", relative_location(reg.last_response), params={"digest": TEST_BLOB_B.digest},
                           headers=OCTETS, content=b"")
    expect_status(response, 201)
    assert response.headers.get("Location"), "no Location"


# -- Cross-Repository Blob Mount -----------------------------------------------------------------
UNDECLARED_CROSSMOUNT = "the registry does not say whether it mounts without from (OCI_AUTOMATIC_CROSSMOUNT)"

@push.step()
def test_cross_mounting_of_a_blob_without_the_from_argument_should_yield_session_id(reg: Run) -> None:
    response = reg.request("POST", "/v2/<name>/blobs/uploads/", name=reg.crossmount_name,
                           params={"mount": DUMMY_DIGEST})
    expect_status(response, 202)
    assert response.headers.get("Location"), "no Location"


@push.step()
def test_post_request_to_mount_another_repositorys_blob_should_return_201_or_202(reg: Run) -> None:
    response = reg.request("POST", "/v2/<name>/blobs/uploads/", name=reg.crossmount_name,
                           params={"mount": TEST_BLOB_A.digest, "from": reg.name})
    expect_status(response, 201, 202)
    reg.last_response = response


@push.step()
def test_get_request_to_test_digest_within_cross_mount_namespace_should_return_200(reg: Run) -> None:
    run_only_if(reg.last_response.status_code == 201, "the registry did not mount the blob (202)")
    location = relative_location(reg.last_response)
    assert location == f"/v2/{reg.crossmount_name}/blobs/{TEST_BLOB_A.digest}"
    expect_status(reg.request("GET", location), 200)


@push.step()
def test_cross_mounting_of_nonexistent_blob_should_yield_session_id(reg: Run) -> None:
    run_only_if(reg.last_response.status_code == 202, "the registry mounted the blob (201)")
    assert relative_location(reg.last_response).startswith(f"/v2/{reg.crossmount_name}/blobs/uploads/")


@push.step()
def test_cross_mounting_without_from_and_automatic_content_discovery_enabled_should_return_a_201(
        reg: Run) -> None:
    run_only_if(reg.target.automatic_crossmount is not None, UNDECLARED_CROSSMOUNT)
    run_only_if(reg.last_response.status_code == 201, "the blob was not mounted with from")
    run_only_if(bool(reg.target.automatic_crossmount), "the registry does not mount without from")
    response = reg.request("POST", "/v2/<name>/blobs/uploads/", name=reg.crossmount_name,
                           params={"mount": TEST_BLOB_A.digest})
    expect_status(response, 201)


@push.step()
def test_cross_mounting_without_from_and_automatic_content_discovery_disabled_should_return_a_202(
        reg: Run) -> None:
    run_only_if(reg.target.automatic_crossmount is not None, UNDECLARED_CROSSMOUNT)
    run_only_if(reg.last_response.status_code == 201, "the blob was not mounted with from")
    run_only_if(not reg.target.automatic_crossmount, "the registry mounts without from")
    response = reg.request("POST", "/v2/<name>/blobs/uploads/", name=reg.crossmount_name,
                           params={"mount": TEST_BLOB_A.digest})
    expect_status(response, 202)


# -- Manifest Upload -----------------------------------------------------------------------------
@push.step()
def test_get_nonexistent_manifest_should_return_404(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<reference>", reference=NONEXISTENT_MANIFEST)
    expect_status(response, 404)


@push.step()
def test_put_should_accept_a_manifest_upload(reg: Run) -> None:
    for i in range(4):
        response = reg.put_manifest(f"test{i}", MANIFESTS[1].content, OCI_MANIFEST)
        assert response.headers.get("Location"), "no Location"
        expect_status(response, 201)


@push.step()
def test_registry_should_accept_a_manifest_upload_with_no_layers(reg: Run) -> None:
    response = reg.put_manifest(EMPTY_LAYER_TEST_TAG, EMPTY_LAYER_MANIFEST.content, OCI_MANIFEST)
    if response.status_code == 201:
        reg.empty_layer_manifest_ref = response.headers.get("Location", "")
        assert reg.empty_layer_manifest_ref, "no Location"
    else:
        warn("image manifest with no layers is not supported")


@push.step()
def test_get_request_to_manifest_url_digest_should_yield_200_response(reg: Run) -> None:
    response = reg.request("GET", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[1].digest,
                           headers={"Accept": OCI_MANIFEST})
    expect_status(response, 200)


# -- Teardown ------------------------------------------------------------------------------------
@push.step()
def test_delete_manifest_created_in_tests(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/manifests/<digest>", digest=MANIFESTS[1].digest)
    expect_success(response, 405)
    if reg.empty_layer_manifest_ref:
        response = reg.request("DELETE", "/v2/<name>/manifests/<reference>",
                               reference=EMPTY_LAYER_MANIFEST.digest)
        expect_success(response, 405)


@push.step()
def test_delete_config_blob_created_in_tests(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=CONFIGS[1].digest)
    expect_success(response, 404, 405)


@push.step()
def test_delete_layer_blob_created_in_setup(reg: Run) -> None:
    response = reg.request("DELETE", "/v2/<name>/blobs/<digest>", digest=LAYER.digest)
    expect_success(response, 404, 405)
