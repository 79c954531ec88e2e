"""The course map (tools/course_map.py) is current in every file that shows it, names only files
that exist, and agrees with the assignments' pages; the README's student table lists every assignment."""

from __future__ import annotations

import re
from pathlib import Path

import course_map  # tools/, on the path (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
RELEASED = sorted(p.parent.name for p in (ROOT / "assignments").glob("*/*.ipynb"))


def test_map_is_current_in_readme_student_readme_and_intro():
    assert course_map.stale_files() == [], "run `python tools/course_map.py` to rewrite the course map"


def test_map_covers_every_chapter_and_assignment_and_names_existing_files():
    assert sorted(a.name for a in course_map.ASSIGNMENTS) == RELEASED, "one entry per released assignment"
    chapters = {path.stem for path in course_map.chapters()}
    for assignment in course_map.ASSIGNMENTS:
        assert set(assignment.chapters) <= chapters, f"{assignment.name}: no chapter {assignment.chapters}"
        assert (ROOT / "book" / "assignments" / f"{assignment.name}.md").is_file()
        assert assignment.benchmark is None or (ROOT / "bench" / assignment.benchmark).is_file(), assignment
    mapped = [chapter for assignment in course_map.ASSIGNMENTS for chapter in assignment.chapters]
    assert len(mapped) == len(set(mapped)), "a chapter goes with one assignment"


def test_map_agrees_with_each_assignment_page_and_benchmark():
    for assignment in course_map.ASSIGNMENTS:
        page = (ROOT / "book" / "assignments" / f"{assignment.name}.md").read_text()
        linked = set(re.findall(r"\{doc\}`\.\./(ch\d\d_\w+)`", page))
        assert linked and linked <= set(assignment.chapters), (
            f"{assignment.name}'s page goes with {linked}, the map says {assignment.chapters}")
        if assignment.benchmark:
            number = assignment.name[1]
            bench = (ROOT / "bench" / assignment.benchmark).read_text()
            assert f"Assignment {number}" in bench, f"bench/{assignment.benchmark} is not about Assignment {number}"


def test_map_links_resolve_where_each_file_is_read():
    for name, flavour in course_map.TARGETS:
        text = (ROOT / name).read_text()
        block = text[text.index(course_map.BEGIN):text.index(course_map.END)]
        base = ROOT / "book" if flavour == "book" else ROOT
        targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", block) if not t.startswith("https://")]
        assert targets, name
        missing = [t for t in targets if not (base / t).exists()]
        assert not missing, f"{name}: the map links to missing files {missing}"


def test_readme_student_table_lists_every_assignment():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Students"):readme.index("## Course map")]
    listed = re.findall(r"^\| `(a\d_\w+)` \|", section, re.MULTILINE)
    assert listed == RELEASED, f"the README's student table lists {listed}"
