"""The course website's generator (iriscourse.site), on a small made-up course; the real site in a browser is
tested in test_site_browser.py."""
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from iriscourse import site

README = """# A small course

Intro paragraph.

## Course map

| notebook | what you learn |
|---|---|
| [00 · First](notebooks/00_first.ipynb) | the start |
| [01 · Second](notebooks/01_second.ipynb) | the middle |

Notebook 00 comes first.

### Exercises

Not part of the course map section.

## Notes

See [the guide](docs/workshop.md).
"""

SOLUTIONS = '''"""Reference solutions."""
import os


def ex_00_1(rows):
    total = sum(len(row) for row in rows)
    return total


def ex_01_1():
    return os.sep
'''


def _notebook(repo, name, title, *cells, learn="- one thing;\n- another thing."):
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# {}\n\nIntro.\n\n## What you will learn\n\n{}".format(title, learn)))
    nb.cells += list(cells)
    nbformat.write(nb, str(repo / "notebooks" / name))


def _exercises(id):
    return [new_markdown_cell("## Exercises\n\nTry them."),
            new_markdown_cell("### {} · Count the things (easy, 5 min)\n\nCount.".format(id)),
            new_code_cell('def count(rows):\n    raise NotImplementedError("your code here")')]


def _made_up_repo(tmp_path):
    """A made-up course repository: README, solutions, a guide and three notebooks (00, 01, 12)."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "docs").mkdir()
    (repo / "scripts").mkdir()
    (repo / "README.md").write_text(README)
    (repo / "docs" / "workshop.md").write_text("# The guide\n\nBack to the [README](../README.md).\n")
    (repo / "scripts" / "tool.sh").write_text("echo tool\n")
    (repo / site.SOLUTIONS_FILE).parent.mkdir(parents=True)
    (repo / site.SOLUTIONS_FILE).write_text(SOLUTIONS)
    _notebook(repo, "00_first.ipynb", "00 · First", new_markdown_cell(
        "Next: [the second notebook](01_second.ipynb#What-you-will-learn), the [README](../README.md), "
        "the [guide](../docs/workshop.md), a [script](../scripts/tool.sh), [TF](https://www.tensorflow.org)."),
        *_exercises("00.1"), learn="- one thing;\n- what [the next notebook](01_second.ipynb) needs.")
    _notebook(repo, "01_second.ipynb", "01 · Second with `code`", new_code_cell("print(1)"), *_exercises("01.1"))
    _notebook(repo, "12_last.ipynb", "12 · Last", new_markdown_cell("The end."))
    return repo


def _build(repo):
    out = repo.parent / "out" / "site"
    pages = site.build(out, repo_root=repo)
    return out, pages


@pytest.fixture
def repo(tmp_path):
    """The made-up repository, for a test that changes it."""
    return _made_up_repo(tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The made-up repository's site, built once: ``(out_dir, page names)``."""
    return _build(_made_up_repo(tmp_path_factory.mktemp("built")))


def _hrefs(page):
    return re.findall(r'href="([^"]*)"', page.read_text())


def _nav(page):
    return re.search(r'<nav class="course-nav".*?</nav>', page.read_text()).group(0)


def test_notebooks_become_pages_in_course_order_with_prev_next(built):
    out, pages = built
    assert pages == ["00_first.html", "01_second.html", "12_last.html", "docs-workshop.html", "index.html",
                     "readme.html"]
    assert 'rel="next" href="00_first.html"' in _nav(out / "index.html")
    assert 'rel="prev"' not in _nav(out / "index.html")
    middle = _nav(out / "01_second.html")
    assert 'rel="prev" href="00_first.html">&larr; 00 · First</a>' in middle
    assert 'rel="next" href="12_last.html">12 · Last &rarr;</a>' in middle
    assert 'rel="next"' not in _nav(out / "12_last.html")
    listed = re.findall(r'<li[^>]*><a href="([^"]*)"', middle)
    assert listed == ["00_first.html", "01_second.html", "12_last.html"]
    assert '<li class="current"><a href="01_second.html">01 · Second with <code>code</code></a>' in middle
    assert "<title>01 · Second with code</title>" in (out / "01_second.html").read_text()


def test_links_point_to_pages_rendered_documents_and_copied_files(built):
    out, _ = built
    hrefs = _hrefs(out / "00_first.html")
    assert "01_second.html#What-you-will-learn" in hrefs
    assert "readme.html" in hrefs and "docs-workshop.html" in hrefs
    assert "files/scripts/tool.sh" in hrefs
    assert "https://www.tensorflow.org" in hrefs
    assert not [href for href in hrefs if ".ipynb" in href or href.endswith(".md")]
    assert (out / "files" / "scripts" / "tool.sh").read_text() == "echo tool\n"
    assert "readme.html" in _hrefs(out / "docs-workshop.html")  # the guide's ../README.md
    assert "docs-workshop.html" in _hrefs(out / "readme.html")


def test_index_has_the_course_map_and_what_each_notebook_teaches(built):
    out, _ = built
    index = (out / "index.html").read_text()
    assert "<title>A small course</title>" in index
    map_start = index.index('id="Course-map"')
    assert index.index("00_first.html", map_start) < index.index("01_second.html", map_start)
    assert "Notebook 00 comes first." in index
    assert "Not part of the course map section." not in index
    sections = re.findall(r'<h3 id="[^"]*"><a href="([^"]*)">', index)
    assert sections == ["00_first.html", "01_second.html", "12_last.html"]
    assert index.count("<li>one thing;</li>") == 3
    assert '<li>what <a href="01_second.html">the next notebook</a> needs.</li>' in index
    assert "Next: " not in index  # the cell after "What you will learn" is not part of it
    assert "Exercises: 00.1 Count the things (easy, 5 min)." in index


def test_pages_load_nothing_from_the_network_and_share_one_stylesheet(built):
    out, pages = built
    for name in pages:
        text = (out / name).read_text()
        assert "<script src" not in text and "cdn" not in text.lower(), name
        assert re.findall(r'<link rel="stylesheet" href="([^"]*)">', text) == [site.SHARED_CSS], name
        assert len(text) < 100000, name  # JupyterLab's CSS is not inlined
    assert ".jp-Notebook" in (out / site.SHARED_CSS).read_text()


def test_exercises_are_on_the_page(built):
    out, _ = built
    page = (out / "00_first.html").read_text()
    assert 'id="Exercises"' in page and "00.1 &#183; Count the things" in page
    assert "NotImplementedError" in page


def test_a_link_to_a_missing_file_stops_the_build_and_keeps_the_old_site(repo):
    out, _ = _build(repo)
    _notebook(repo, "01_second.ipynb", "01 · Second", new_markdown_cell("See [this](../docs/gone.md)."))
    with pytest.raises(site.SiteError, match=r"notebooks/01_second.ipynb links to '../docs/gone.md', but docs/gone.md "
                                             r"does not exist"):
        _build(repo)
    assert "NotImplementedError" in (out / "01_second.html").read_text()  # the previous build, untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["site"]  # no staging folder left


@pytest.mark.parametrize("target, message", [
    ("../../elsewhere.md", "outside the repository"),
    ("../docs", "links to the folder"),
])
def test_links_that_cannot_work_stop_the_build(repo, target, message):
    _notebook(repo, "12_last.ipynb", "12 · Last", new_markdown_cell("[x]({})".format(target)))
    with pytest.raises(site.SiteError, match=message):
        _build(repo)


def test_a_notebook_without_what_you_will_learn_stops_the_build(repo):
    _notebook(repo, "12_last.ipynb", "12 · Last", learn="")
    with pytest.raises(site.SiteError, match="notebooks/12_last.ipynb has no .* 'What you will learn' section"):
        _build(repo)


def test_a_notebook_without_a_title_stops_the_build(repo):
    nb = new_notebook(cells=[new_markdown_cell("## What you will learn\n\n- x")])
    nbformat.write(nb, str(repo / "notebooks" / "05_untitled.ipynb"))
    with pytest.raises(site.SiteError, match="05_untitled.ipynb has no title"):
        _build(repo)


def test_relocated_links_are_relative_to_the_repository_root():
    markdown = ("[a](01_b.ipynb#Setup) ![img](img/x.png) [c](<../docs/w.md>) [d](https://x.org/a) [e](#here)\n"
                "[ref]: ../README.md\n")
    assert site.relocate_links(markdown, "notebooks/00_a.ipynb") == (
        "[a](/notebooks/01_b.ipynb#Setup) ![img](/notebooks/img/x.png) [c](</docs/w.md>) [d](https://x.org/a) "
        "[e](#here)\n[ref]: /README.md\n")


def test_solution_bodies_are_read_from_the_solutions_module(repo):
    assert site.solution_bodies(repo / site.SOLUTIONS_FILE) == {
        "ex_00_1": "total = sum(len(row) for row in rows) return total",
        "ex_01_1": "return os.sep"}


@pytest.mark.parametrize("where", ["source", "output"])
def test_a_page_that_would_show_a_solution_stops_the_build(repo, where):
    shown = "total = sum(len(row) for row in rows)\nreturn total"
    cell = new_code_cell(shown if where == "source" else "solution('00.1')")
    if where == "output":
        cell.outputs = [new_output("stream", name="stdout", text="def ex_00_1(rows):\n    " + shown.replace(
            "\n", "\n    "))]
    _notebook(repo, "12_last.ipynb", "12 · Last", cell)
    with pytest.raises(site.SiteError, match="notebooks/12_last.ipynb cell 1 shows the reference solution ex_00_1"):
        _build(repo)


def test_main_writes_the_site_or_says_what_to_fix(repo, capsys):
    out = repo.parent / "out" / "site"
    assert site.main(["--out", str(out), "--repo-root", str(repo)]) == 0
    assert "wrote 6 pages to " in capsys.readouterr().out
    (repo / "README.md").write_text("# A small course\n\nNo course map.\n")
    assert site.main(["--out", str(out), "--repo-root", str(repo)]) == 1
    assert capsys.readouterr().err == (
        "error: README.md has no (or an empty) 'Course map' section: add a heading '## Course map' with its text\n")
