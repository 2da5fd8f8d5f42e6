import pytest

from minidock_magic.errors import InvalidArgument
from minidock_magic.oci import Digest, Reference

HEX = "a" * 64


@pytest.mark.parametrize("text, canonical, familiar", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("me/app:v1", "docker.io/me/app:v1", "me/app:v1"),
    ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"),
    ("localhost/a", "localhost/a:latest", "localhost/a:latest"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"),
    ("registry.example.com/team/tool:1.0-rc.1", "registry.example.com/team/tool:1.0-rc.1",
     "registry.example.com/team/tool:1.0-rc.1"),
    ("Example.com/a", "Example.com/a:latest", "Example.com/a:latest"),
    ("[::1]:5000/a", "[::1]:5000/a:latest", "[::1]:5000/a:latest"),
    ("Me/app", "Me/app:latest", "Me/app:latest"),  # docker reads "Me" as a registry host
    ("a__b/c-d/e.f_g", "docker.io/a__b/c-d/e.f_g:latest", "a__b/c-d/e.f_g:latest"),
    (f"busybox@sha256:{HEX}", f"docker.io/library/busybox@sha256:{HEX}", f"busybox@sha256:{HEX}"),
    (f"busybox:1@sha256:{HEX}", f"docker.io/library/busybox:1@sha256:{HEX}", f"busybox:1@sha256:{HEX}"),
])
def test_valid_references_normalise_like_docker(text, canonical, familiar):
    ref = Reference.parse(text)
    assert str(ref) == canonical
    assert ref.familiar == familiar
    assert Reference.parse(str(ref)) == ref


@pytest.mark.parametrize("text", [
    "", "BusyBox", "busybox:", ":tag", "a//b", "-a", "a-", "a..b", "a/", "/a", "busybox:-x",
    "busybox:" + "t" * 129, "a@sha256:abc", "a@sha256:" + "g" * 64, "a@md5:" + "a" * 32,
    "a b", "a\nb", "busybox\n", "localhost:port/a", "a/" + "b" * 260,
    "busybox:vé", "busybox:v²",  # a tag is ASCII (Go's \w), as the registry's routes say too
])
def test_invalid_references_are_refused_with_one_line(text):
    with pytest.raises(InvalidArgument) as info:
        Reference.parse(text)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(("invalid reference format", "invalid", "unsupported"))


def test_digest_only_reference_has_no_default_tag():
    ref = Reference.parse(f"busybox@sha256:{HEX}")
    assert ref.tag is None and ref.digest == Digest.parse(f"sha256:{HEX}")


def test_api_host_of_docker_hub_is_registry_1():
    assert Reference.parse("busybox").api_host == "registry-1.docker.io"
    assert Reference.parse("localhost:5000/a").api_host == "localhost:5000"


def test_with_tag_validates():
    ref = Reference.parse("a")
    assert str(ref.with_tag("v2")) == "docker.io/library/a:v2"
    with pytest.raises(InvalidArgument):
        ref.with_tag("bad tag")
