"""The theory ships with the repository: docs/theory.md exists, every citation of it names a
section it has, and no file cites a document the repository lacks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
# The internal notes the docs replaced; spelled in two parts so this file does not cite them.
MISSING_DOC = "physics" + ".md"
CITING_SUFFIXES = (".py", ".md", ".toml", ".txt")
_SECTION = r"§(\d+(?:\.\d+)*)"
_HEADING = re.compile(rf"^#{{1,6}}\s+{_SECTION}(?=\s)", re.M)
_CITATION = re.compile(rf"(?:docs/)?theory\.md((?:[\s,;]*(?:and\s+)?{_SECTION})+)")


def tracked_files() -> list[Path]:
    """The repository's tracked files (``git ls-files``), or every file when git is absent.

    This test file is left out: its examples of bad citations are bad on purpose.
    """
    return [p for p in _all_files() if p.resolve() != Path(__file__).resolve()]


def _all_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
        return [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        skip = {".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".ruff_cache"}
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)
        ]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary or unreadable file."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def sections(markdown: str) -> set[str]:
    """Section numbers of the headings ``## §N Title`` / ``### §N.M Title``."""
    return set(_HEADING.findall(markdown))


def cited_sections(text: str) -> list[str]:
    """Every section a text cites as ``docs/theory.md §N`` (lists like ``§3.2, §4.2`` too)."""
    found = []
    for match in _CITATION.finditer(text):
        found.extend(re.findall(_SECTION, match.group(1)))
    return found


def internal_references(markdown: str) -> list[str]:
    """The ``§N`` cross-references in the body of the theory (headings excluded)."""
    body = "\n".join(line for line in markdown.splitlines() if not line.startswith("#"))
    return re.findall(_SECTION, body)


def unknown_citations(files: list[Path], known: set[str]) -> list[str]:
    """``path: §N`` for every citation of a section that ``known`` lacks."""
    bad = []
    for path in files:
        if path.suffix not in CITING_SUFFIXES:
            continue
        text = read_text(path)
        if text is None:
            continue
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        bad.extend(f"{name}: §{s}" for s in cited_sections(text) if s not in known)
    return bad


def files_citing_missing_doc(files: list[Path], root: Path = ROOT) -> list[str]:
    """Files other than ``.jsonl`` data that mention the notes the repository lacks."""
    out = []
    for path in files:
        if path.suffix == ".jsonl":
            continue
        text = read_text(path)
        if text is not None and MISSING_DOC in text:
            out.append(str(path.relative_to(root)))
    return out


def test_theory_exists_with_numbered_sections():
    assert THEORY.is_file(), "docs/theory.md is missing"
    text = THEORY.read_text(encoding="utf-8")
    numbers = _HEADING.findall(text)
    assert len(numbers) == len(set(numbers)), "a section number is used twice"
    assert {"1", "2", "2.1", "3.2", "4.2", "7.3", "8.2", "11"} <= set(numbers)
    # Subsections belong to an existing section.
    assert all(s.rsplit(".", 1)[0] in numbers for s in numbers if "." in s)


def test_no_file_cites_the_missing_notes():
    assert files_citing_missing_doc(tracked_files()) == []


def test_every_citation_names_an_existing_section():
    known = sections(THEORY.read_text(encoding="utf-8"))
    files = tracked_files()
    cited = [
        s for p in files if p.suffix in CITING_SUFFIXES for s in cited_sections(read_text(p) or "")
    ]
    assert len(cited) >= 30, f"expected the docstrings to cite docs/theory.md, found {len(cited)}"
    assert unknown_citations(files, known) == []


def test_theory_cross_references_exist():
    text = THEORY.read_text(encoding="utf-8")
    known = sections(text)
    assert [s for s in internal_references(text) if s not in known] == []


def test_readme_links_the_theory():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/theory.md)" in readme


# The checks above must be able to fail: feed them bad citations they must report.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see docs/theory.md §99 for the proof", ["99"]),
        ("(docs/theory.md §3.2, §42.1)", ["3.2", "42.1"]),
        ("snapshots (docs/theory.md\n        §3.3)", ["3.3"]),
        ("docs/theory.md §8.4's f = 1/sqrt(3)", ["8.4"]),
        ("theory.md §2.9 and §4.1.", ["2.9", "4.1"]),
        ("docs/theory.md, the whole document", []),
    ],
)
def test_citation_parser(text, expected):
    assert cited_sections(text) == expected


def test_checks_report_bad_citations(tmp_path):
    bogus = tmp_path / "module.py"
    bogus.write_text('"""Follows docs/theory.md §3.2 and docs/theory.md §77.1."""\n')
    assert unknown_citations([bogus], {"3", "3.2"}) == ["module.py: §77.1"]
    assert sections("## §3 Shadows\n### §3.2 Estimator\ntext §9\n") == {"3", "3.2"}
    assert internal_references("## §3 Shadows\nsee §9 and §3.2\n") == ["9", "3.2"]


def test_check_reports_the_missing_notes(tmp_path):
    cites = tmp_path / "notes.md"
    cites.write_text(f"as {MISSING_DOC} §2 says\n")
    data = tmp_path / "results.jsonl"
    data.write_text(f'{{"note": "{MISSING_DOC}"}}\n')
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    assert files_citing_missing_doc([cites, data, clean], tmp_path) == ["notes.md"]
