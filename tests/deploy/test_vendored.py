"""Vendored files from npm packages, each folder with its record (VENDORED.json): the browser
libraries we serve (polls/static/polls/vendor/) and the profanity filter's word lists
(polls/profanity_lists/). Each file is the one its npm package ships, byte for byte.
Offline, the files match their recorded SHA-256 and every file in the folder is recorded;
online, the registry's tarball matches its recorded integrity and holds each file at its
recorded path. The tarballs are kept in
.local/vendored/ (git-ignored). Without the network the online test skips, and under CI
(the CI environment variable set) fails: CI must check what we ship."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "polls" / "static" / "polls" / "vendor", ROOT / "polls" / "profanity_lists"]
RECORD = "VENDORED.json"
CACHE = ROOT / ".local" / "vendored"

# Each package with the folder its files are vendored into (its record's folder).
PACKAGES: list[dict[str, Any]] = [
    {**package, "folder": folder}
    for folder in FOLDERS
    for package in json.loads((folder / RECORD).read_text())["packages"]
]
FILES = [(package, file) for package in PACKAGES for file in package["files"]]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity(data: bytes) -> str:
    """npm's integrity string (Subresource Integrity): the algorithm and the digest in base64."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.mark.parametrize("folder", FOLDERS, ids=[folder.name for folder in FOLDERS])
def test_every_file_in_a_vendor_folder_is_recorded(folder: Path) -> None:
    recorded = {file["path"] for package, file in FILES if package["folder"] == folder}
    present = {path.name for path in folder.iterdir()} - {RECORD}
    assert recorded
    assert present == recorded


@pytest.mark.parametrize(("package", "file"), FILES, ids=[f["path"] for _, f in FILES])
def test_each_vendored_file_has_its_recorded_sha256(
    package: dict[str, Any], file: dict[str, str]
) -> None:
    assert sha256((package["folder"] / file["path"]).read_bytes()) == file["sha256"], package[
        "package"
    ]


@pytest.mark.parametrize("package", PACKAGES, ids=[p["package"] for p in PACKAGES])
def test_each_package_is_recorded_in_full(package: dict[str, Any]) -> None:
    name, version = package["package"], package["version"]
    assert package["licence"]
    assert package["source"].startswith("https://")
    # npm's own address for this version's tarball (a scoped name keeps its scope once)
    base = name.rsplit("/", 1)[-1]
    assert package["tarball"] == f"https://registry.npmjs.org/{name}/-/{base}-{version}.tgz"
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", package["integrity"])
    assert package["files"]
    for file in package["files"]:
        assert file["in_tarball"].startswith("package/")
        assert re.fullmatch(r"[0-9a-f]{64}", file["sha256"])


def tarball(package: dict[str, Any]) -> bytes:
    """The package's tarball from the cache, or from the registry into the cache; a
    download failure skips the test (fails it under CI)."""
    url, expected = package["tarball"], package["integrity"]
    cached = CACHE / url.rsplit("/", 1)[-1]
    if cached.exists() and integrity(cached.read_bytes()) == expected:
        return cached.read_bytes()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https, recorded)
            data: bytes = response.read()
    except OSError as error:
        reason = f"cannot download {url}: {error}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must check the vendored files")
        pytest.skip(reason)
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


@pytest.mark.parametrize("package", PACKAGES, ids=[p["package"] for p in PACKAGES])
def test_each_vendored_file_is_the_one_in_its_packages_tarball(package: dict[str, Any]) -> None:
    data = tarball(package)
    assert integrity(data) == package["integrity"], "the registry's tarball is not the recorded one"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for file in package["files"]:
            member = archive.getmember(file["in_tarball"])
            assert member.isfile()
            shipped = archive.extractfile(member)
            assert shipped is not None
            content = shipped.read()
            assert sha256(content) == file["sha256"], file["in_tarball"]
            assert (package["folder"] / file["path"]).read_bytes() == content, file["path"]
