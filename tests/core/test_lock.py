"""The committed lock files agree with pyproject.toml, and this environment was installed from them.

``scripts/refresh-lock`` writes the lock files; both README commands install from them with ``--require-hashes``,
so pip itself refuses a lock that misses a package or a hash. These tests catch the rest: a dependency added to
pyproject.toml without refreshing the lock, a pin outside its range, and the two lock files drifting apart.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# A pinned line, e.g. `uvloop==0.23.0 ; sys_platform != 'win32' \`: name, version, optional marker.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, list[tuple[Version, Marker | None]]]:
    found: dict[str, list[tuple[Version, Marker | None]]] = {}
    lines = (ROOT / lock).read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        assert number + 1 < len(lines) and "--hash=sha256:" in lines[number + 1], f"{lock}: {name} has no hash"
        found.setdefault(canonicalize_name(name), []).append((Version(version), Marker(marker) if marker else None))
    return found


def required(*, test: bool) -> list[Requirement]:
    names = PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"]
    if test:
        names = names + PYPROJECT["project"]["optional-dependencies"]["test"]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("lock", "test"), [("requirements.lock", False), ("requirements-test.lock", True)])
def test_the_lock_pins_every_requirement_within_its_range(lock: str, test: bool):
    locked = pins(lock)
    for requirement in required(test=test):
        versions = locked.get(canonicalize_name(requirement.name))
        assert versions, f"{lock} lacks {requirement.name}: run scripts/refresh-lock"
        for version, _ in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {requirement.name}=={version}, outside pyproject.toml's {requirement.specifier}: "
                "run scripts/refresh-lock"
            )


def test_the_two_locks_pin_the_same_versions():
    start, test = pins("requirements.lock"), pins("requirements-test.lock")
    for name, versions in start.items():
        assert name in test, f"requirements-test.lock lacks {name}"
        assert {v for v, _ in versions} <= {v for v, _ in test[name]}, f"{name} differs between the lock files"


def test_this_environment_was_installed_from_the_lock():
    mismatched = []
    for name, versions in pins("requirements-test.lock").items():
        wanted = [v for v, marker in versions if marker is None or marker.evaluate()]
        if not wanted:
            continue  # not for this platform
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            mismatched.append(f"{name} is not installed (lock: {wanted[0]})")
            continue
        if installed not in wanted:
            mismatched.append(f"{name} {installed} (lock: {wanted[0]})")
    assert not mismatched, "install from requirements-test.lock (see README): " + "; ".join(mismatched)
