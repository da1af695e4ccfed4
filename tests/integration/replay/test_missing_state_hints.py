"""A failure for want of state names the cassette that would have created it (issue 11).

The recorded flow split into a feed (ITI-44 add) and the submissions that need its patient,
replayed by the real CLI against a fresh simulator: the ITI-41 is a regression
(XDSUnknownPatientId), and its note says which cassette creates the patient and how to run
them, or that no cassette does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_replay_order import _replay, _split

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _notes(data: dict[str, object], transaction: str) -> list[str]:
    return [note for e in data["exchanges"]  # type: ignore[attr-defined]
            if e["transaction"] == transaction for note in e.get("notes", [])]


def test_a_submission_given_before_its_feed_names_the_feed(recorded_flow: Path,
                                                          tmp_path: Path) -> None:
    feed, submit = _split(recorded_flow, tmp_path)
    code, output, data = _replay([submit, feed], tmp_path / "run.json")
    assert code == 1, output
    notes = _notes(data, "ITI-41")
    assert len(notes) == 1, output
    assert "it is created by z-feed.yaml#0" in notes[0]
    assert "give that cassette before this one (ihe replay z-feed.yaml a-submit.yaml)" \
        in notes[0]
    assert "note: the target does not know patient" in output  # in the exchange's panel


def test_a_submission_alone_names_the_feed_beside_it(recorded_flow: Path,
                                                     tmp_path: Path) -> None:
    feed, submit = _split(recorded_flow, tmp_path)
    code, output, data = _replay([submit], tmp_path / "run.json")
    assert code == 1, output
    notes = _notes(data, "ITI-41")
    assert notes and f"it is created by {feed}#0" in notes[0], output


def test_no_cassette_creates_the_patient(recorded_flow: Path, tmp_path: Path) -> None:
    feed, submit = _split(recorded_flow, tmp_path)
    feed.unlink()
    code, output, data = _replay([submit], tmp_path / "run.json")
    assert code == 1, output
    notes = _notes(data, "ITI-41")
    assert notes and "no cassette of this run (nor beside it) creates it" in notes[0]
    assert "[hooks] before_replay" in notes[0]
    assert not _notes(data, "ITI-44")
