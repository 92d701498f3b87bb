"""JSONL files (history, metrics): a line cut by a crash at the end is dropped; a corrupt line
anywhere else is an error naming file and line, not a silently shorter history."""

from __future__ import annotations

import pytest

from mri_gan.errors import MriGanError
from mri_gan.utils import append_jsonl, read_jsonl


def test_round_trip_and_missing(tmp_path):
    p = tmp_path / "h.jsonl"
    assert read_jsonl(p) == []
    append_jsonl(p, {"epoch": 1})
    append_jsonl(p, {"epoch": 2, "x": float("nan")})
    assert read_jsonl(p) == [{"epoch": 1}, {"epoch": 2, "x": "nan"}]


def test_truncated_last_line_is_dropped(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3, "d_lo')
    assert read_jsonl(p) == [{"epoch": 1}, {"epoch": 2}]


def test_complete_last_line_without_newline_is_kept(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"epoch": 1}\n{"epoch": 2}')
    assert read_jsonl(p) == [{"epoch": 1}, {"epoch": 2}]


@pytest.mark.parametrize("text, line", [('{"epoch": 1}\n{"epoch": 2, "d_lo\n{"epoch": 3}\n', 2),
                                        ('not json\n{"epoch": 2}\n', 1),
                                        ('{"epoch": 1}\n\n{"epoch": 2}\n{oops}\n', 4)])
def test_corrupt_line_elsewhere_is_a_one_line_error(tmp_path, text, line):
    p = tmp_path / "h.jsonl"
    p.write_text(text)
    with pytest.raises(MriGanError) as e:
        read_jsonl(p)
    msg = str(e.value)
    assert f"{p}:{line}:" in msg and "\n" not in msg


def test_append_after_a_crash_drops_the_cut_line(tmp_path):
    """A crash mid-append leaves a line without its newline; the next append (a resumed run)
    must not glue its record onto it (that would be a corrupt line in the middle)."""
    p = tmp_path / "h.jsonl"
    p.write_text('{"epoch": 1}\n{"epoch": 2, "d_lo')
    append_jsonl(p, {"epoch": 2})
    append_jsonl(p, {"epoch": 3})
    assert read_jsonl(p) == [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}]


def test_read_json_names_a_corrupt_file(tmp_path):
    import pytest

    from mri_gan.errors import MriGanError
    from mri_gan.utils import read_json

    p = tmp_path / "prepare.json"
    p.write_text('{"size": 64', encoding="utf-8")  # cut by a crash
    with pytest.raises(MriGanError, match=r"prepare\.json is not valid JSON \(run it again\)"):
        read_json(p, " (run it again)")
    p.write_text('{"size": 64}', encoding="utf-8")
    assert read_json(p) == {"size": 64}


def test_skipped_lines_caps_the_unreadable_and_lists_every_empty_folder():
    from mri_gan.utils import skipped_lines

    bad = [{"file": f"f{i}.png", "reason": "truncated"} for i in range(4)]
    assert skipped_lines(bad, ["train/x"], "file", "skipped", 2, "(see log)") == [
        "  skipped: f0.png: truncated", "  skipped: f1.png: truncated", "  ... and 2 more (see log)",
        "  skipped empty class folder: train/x"]
    assert skipped_lines(bad[:2], [], "file", "skipped", 2, "(see log)") == [
        "  skipped: f0.png: truncated", "  skipped: f1.png: truncated"]
