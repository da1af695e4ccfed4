"""The public API (``ihe_test_util.__all__``, docs/api.md): importable, lazy, documented."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ihe_test_util

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
NAMES = sorted(set(ihe_test_util.__all__) - {"__version__"})


@pytest.mark.parametrize("name", NAMES)
def test_every_public_name_is_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(ihe_test_util._EXPORTS[name])
    assert getattr(ihe_test_util, name) is getattr(module, name)


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert set(NAMES) == set(ihe_test_util._EXPORTS)
    assert len(ihe_test_util.__all__) == len(set(ihe_test_util.__all__))


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from ihe_test_util import *", namespace)
    assert set(ihe_test_util.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'replay_everything'"):
        _ = ihe_test_util.replay_everything  # type: ignore[attr-defined]


def test_importing_the_package_loads_no_submodule() -> None:
    probe = ("import sys, ihe_test_util\n"
             "print(sorted(m for m in sys.modules if m.startswith('ihe_test_util.')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_the_api_page_names_every_public_name() -> None:
    documented = set(re.findall(r"`([A-Za-z_]+)", API_DOC.read_text(encoding="utf-8")))
    assert set(NAMES) <= documented, sorted(set(NAMES) - documented)
