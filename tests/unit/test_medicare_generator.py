"""scripts/generate_medicare_pack.py: the committed pack is what the CMS CSVs generate.

The script runs once as a real process (`--check`, as CI and a person would run it); the other
tests call its `main` in-process on temporary copies, so the shipped pack and CSVs are never
touched.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "generate_medicare_pack.py"
PACK = REPO / "src" / "precert" / "data" / "packs" / "medicare.yaml"
CMS = REPO / "src" / "precert" / "data" / "reference" / "cms"
REGENERATE = "regenerate it with: .venv/bin/python scripts/generate_medicare_pack.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_medicare_pack_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_script()


@pytest.fixture
def cms_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "cms"
    shutil.copytree(CMS, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_the_committed_pack_is_exactly_what_the_generator_produces() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "medicare.yaml is up to date with the CMS CSVs."


def test_check_refuses_a_pack_edited_by_hand_and_shows_the_difference(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "medicare.yaml"
    text = PACK.read_text("utf-8")
    assert "effective_through: 2022-01-06" in text  # 67911 left the OPD list on 2022-01-07
    edited.write_text(
        text.replace("effective_through: 2022-01-06", "effective_through: 2022-01-07")
    )

    assert generator.main(["--check", "--pack", str(edited)]) == 1

    err = capsys.readouterr().err
    assert f"{edited} is out of date: it differs from what scripts/generate_medicare_pack.py" in err
    assert f"Do not edit it by hand; {REGENERATE}" in err
    assert "-  effective_through: 2022-01-07" in err
    assert "+  effective_through: 2022-01-06" in err
    assert "2022-01-07" in edited.read_text("utf-8")  # --check writes nothing


def test_check_says_how_to_create_a_missing_pack(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "medicare.yaml"
    assert generator.main(["--check", "--pack", str(missing)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{missing} does not exist; generate it with: "
        ".venv/bin/python scripts/generate_medicare_pack.py"
    )


def test_refreshing_from_shared_copies_the_lists_and_regenerates_the_same_pack(
    generator: ModuleType, shared_dir: Path, tmp_path: Path
) -> None:
    data, pack = tmp_path / "cms", tmp_path / "medicare.yaml"
    argv = ["--refresh-from", str(shared_dir / "refdata"), "--data-dir", str(data)]

    assert generator.main([*argv, "--pack", str(pack)]) == 0

    for name in generator.CSV_FILES:
        assert (data / name).read_bytes() == (shared_dir / "refdata" / name).read_bytes()
    assert pack.read_bytes() == PACK.read_bytes()


def test_refreshing_from_a_folder_missing_a_list_copies_nothing(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incomplete, data = tmp_path / "incomplete", tmp_path / "cms"
    incomplete.mkdir()
    for name in generator.CSV_FILES[:-1]:
        shutil.copyfile(CMS / name, incomplete / name)

    argv = ["--refresh-from", str(incomplete), "--data-dir", str(data), "--pack", "unused.yaml"]
    assert generator.main(argv) == 2

    assert capsys.readouterr().err.strip() == (
        f"error: {incomplete}: missing rsnat_ambulance.csv; nothing was copied"
    )
    assert not data.exists()


def test_a_bad_date_in_a_list_is_reported_with_file_line_and_column(
    generator: ModuleType, cms_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opd = cms_copy / "cms_opd_prior_auth.csv"
    lines = opd.read_text("utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",2020-07-01,", ",2020-13-01,", 1)  # 15821, the file's line 3
    opd.write_text("".join(lines), "utf-8")
    pack = tmp_path / "medicare.yaml"

    assert generator.main(["--data-dir", str(cms_copy), "--pack", str(pack)]) == 2

    assert capsys.readouterr().err.strip() == (
        "error: cms_opd_prior_auth.csv: line 3: effective_date: '2020-13-01' is not YYYY-MM-DD"
    )
    assert not pack.exists()


def test_a_new_row_in_a_list_changes_the_generated_pack_and_its_version(
    generator: ModuleType, cms_copy: Path, tmp_path: Path
) -> None:
    rsnat = cms_copy / "rsnat_ambulance.csv"
    with rsnat.open("a", encoding="utf-8") as out:
        out.write("GU,2027-01-01,A0426;A0428,,https://example.org/synthetic-test-row\n")
    pack = tmp_path / "medicare.yaml"

    assert generator.main(["--data-dir", str(cms_copy), "--pack", str(pack)]) == 0

    text = pack.read_text("utf-8")
    assert "- id: medicare-rsnat-2027-01-01" in text
    assert "version: 2027.01.01-" in text
    assert text != PACK.read_text("utf-8")


def test_a_list_missing_a_column_is_refused_naming_the_file_and_the_column(
    generator: ModuleType, cms_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    participants = cms_copy / "wiser_states.csv"
    text = participants.read_text("utf-8")
    participants.write_text(text.replace("wiser_participant", "participant", 1), "utf-8")
    pack = tmp_path / "medicare.yaml"

    assert generator.main(["--data-dir", str(cms_copy), "--pack", str(pack)]) == 2

    assert capsys.readouterr().err.strip() == (
        "error: wiser_states.csv: missing the column(s) wiser_participant"
    )
    assert not pack.exists()
