"""The voice_eval command: its figures on a tiny file, and clear refusals of malformed files."""

import json

import pytest
from django.core.management import CommandError, call_command

from diemcau.voice import evaluation

KEYS = {"dup_precision", "dup_recall", "dup_f1", "polarity_merges", "topic_accuracy"}

TINY = """id\ttopic\tdup_group\ttext
1\tluong_phu_cap\tg1\tĐề nghị tăng phụ cấp ưu đãi cho giáo viên mầm non
2\tluong_phu_cap\tg1\tde nghi tang phu cap uu dai cho giao vien mam non
3\tluong_phu_cap\tg2\tĐề nghị không tăng phụ cấp ưu đãi cho giáo viên mầm non
4\tho_so_cong_viec\tg3\tGiáo viên phải làm quá nhiều hồ sơ sổ sách, đề nghị giảm bớt
5\tho_so_cong_viec\tg3\tGiao vien phai lam qua nhieu ho so so sach, de nghi giam bot
6\tho_so_cong_viec\t\tĐề nghị bỏ sáng kiến kinh nghiệm bắt buộc
7\tco_so_vat_chat\tg4\tTrường vùng cao thiếu phòng học, học sinh học nhờ nhà văn hóa
8\tco_so_vat_chat\tg4\tTruong vung cao thieu phong hoc, hoc sinh hoc nho nha van hoa
9\tco_so_vat_chat\t\tMáy chiếu trong lớp học đã hỏng
10\tluong_phu_cap\t\tLương giáo viên mới ra trường quá thấp
"""


def run(tmp_path, content: str | bytes, *args) -> dict:
    path = tmp_path / "items.tsv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    out = []

    class Sink:
        def write(self, s):
            out.append(s)

        def flush(self):
            pass

    call_command("voice_eval", str(path), *args, stdout=Sink())
    lines = "".join(out).strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_eval_command_on_a_tiny_file(tmp_path):
    figures = run(tmp_path, TINY)
    assert KEYS <= figures.keys() and {f"baseline_{k}" for k in KEYS} <= figures.keys()
    assert figures["items"] == 10 and figures["dup_pairs"] == 3
    assert figures["dup_precision"] == 1.0 and figures["dup_recall"] == 1.0 and figures["dup_f1"] == 1.0
    assert figures["polarity_merges"] == 0
    assert 0.0 <= figures["topic_accuracy"] <= 1.0
    # Plain TF-IDF puts the negated item with the ones it contradicts.
    assert figures["baseline_polarity_merges"] > 0


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty file"),
    ("id\ttext\n1\tabc\n", "header"),
    ("id\ttopic\tdup_group\ttext\n1\ta\tg\tone\n2\ta\tg\n", "line 3: 3 fields"),
    ("id\ttopic\tdup_group\ttext\n1\ta\tg\tone\n1\ta\tg\ttwo\n", "appears twice"),
    ("id\ttopic\tdup_group\ttext\n1\ta\tg\t\n2\ta\tg\ttwo\n", "empty text"),
    ("id\ttopic\tdup_group\ttext\n1\ta\tg\tone\n", "at least two items"),
    ("id\ttopic\tdup_group\ttext\n1\ta\tg\tL\xfd do\n".encode("latin-1"), "not UTF-8"),
])
def test_malformed_files_are_refused_clearly(tmp_path, content, message):
    with pytest.raises(CommandError) as e:
        run(tmp_path, content)
    assert message in str(e.value)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("voice_eval", str(tmp_path / "nope.tsv"))


def test_bundled_held_out_file_is_well_formed():
    items = evaluation.read_labelled(evaluation.EVAL_HELDOUT)
    train = evaluation.read_labelled(evaluation.EVAL_TRAIN)
    assert len(items) >= 100 and not {i.id for i in items} & {i.id for i in train}
    assert not {i.dup_group for i in items} & {i.dup_group for i in train}
