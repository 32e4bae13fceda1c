"""Render the committed notebooks and the README's course map into a static website that works offline.

    python -m iriscourse.site [--out build/site]        (make site)

Every notebook (``notebooks/NN_*.ipynb``, in course order) becomes ``NN_*.html`` with its committed outputs
and plots (nbconvert's HTML exporter, JupyterLab's look, images embedded, no script from a CDN), with
previous/next navigation. ``index.html`` holds the README's course map and each notebook's "What you will
learn". Links between notebooks point to their pages; links to Markdown files of the repository point to
pages rendered from them, links to other repository files to copies under ``files/``. The build stops
with a clear error on a link to a file that does not exist, or if a page would show a reference solution.
"""
import argparse
import html
import os
import posixpath
import re
import shutil
import sys
import tempfile
from collections import namedtuple
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
from nbconvert import HTMLExporter

from . import paths
from .runner import list_notebooks

TEMPLATES_DIR = Path(__file__).with_name("site_templates")
TEMPLATE_NAME = "course"
NAV_PLACEHOLDER = "<!--course-nav-->"
SHARED_CSS = "jupyterlab.css"  # JupyterLab's stylesheet (580 kB), written once instead of inlined in every page
SOLUTIONS_FILE = Path("src", "iriscourse", "exercises", "solutions.py")
LINK_ATTRIBUTE = re.compile(r'(\s(?:href|src)=)"([^"]*)"')
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXERCISE_HEADING = re.compile(r"^###\s+(\d\d\.\d+)\s+·\s+(.*)$", re.MULTILINE)
MARKDOWN_LINK = re.compile(r"(\]\(\s*<?|^\s{0,3}\[[^\]]+\]:\s*<?)([^\s)>]+)", re.MULTILINE)
SOLUTION_DEF = re.compile(r"^def (ex_\d\d_\d+)\(.*\):\s*$")

Notebook = namedtuple("Notebook", "source filename title learn exercises node")


class SiteError(Exception):
    """A problem in the course's sources that stops the site build; the message says what to fix."""


def page_filename(source):
    """Site file of a rendered file: ``notebooks/01_x.ipynb`` -> ``01_x.html``, ``a/b.md`` -> ``a-b.html``."""
    if source.startswith("notebooks/") and source.endswith(".ipynb"):
        return posixpath.basename(source)[:-len(".ipynb")] + ".html"
    if source == "README.md":
        return "readme.html"
    return source[:-len(".md")].replace("/", "-") + ".html"


def markdown_cells(nb):
    """The sources of the notebook's Markdown cells, in order."""
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]


def title(markdown, where):
    """The text of the first level-1 heading (``# ...``)."""
    for line in markdown.splitlines():
        match = HEADING.match(line)
        if match and len(match.group(1)) == 1:
            return match.group(2)
    raise SiteError("{} has no title: start it with a level-1 heading ('# 01 · ...')".format(where))


def section(texts, heading, where):
    """The Markdown under the heading ``heading`` (any level) in one of ``texts`` (cells), up to the next heading."""
    for text in texts:
        lines = text.splitlines()
        for start, line in enumerate(lines):
            match = HEADING.match(line)
            if match and match.group(2).lower() == heading.lower():
                body = []
                for line in lines[start + 1:]:
                    if HEADING.match(line):
                        break
                    body.append(line)
                if "\n".join(body).strip():
                    return "\n".join(body).strip()
    raise SiteError("{} has no (or an empty) '{}' section: add a heading '## {}' with its text".format(
        where, heading, heading))


def relocate_links(markdown, source):
    """``markdown`` of the repository file ``source`` with its relative link targets made repository-absolute.

    For Markdown moved to another page (a notebook's "What you will learn" on the index): ``[x](01_a.ipynb)``
    of ``notebooks/00_b.ipynb`` becomes ``[x](/notebooks/01_a.ipynb)``. Inline links, images and link
    reference definitions are covered; targets holding parentheses or spaces are not.
    """
    def relocate(match):
        target = match.group(2)
        if urlsplit(target).scheme or target.startswith(("#", "/")):
            return match.group(0)
        return match.group(1) + "/" + posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
    return MARKDOWN_LINK.sub(relocate, markdown)


def exercises(markdown):
    """The ``(id, title)`` of each exercise heading (``### 02.1 · Title``), in order."""
    return EXERCISE_HEADING.findall(markdown)


def read_notebook(path, repo_root):
    """A course notebook with what the site needs of it: source path, page name, title, what you will learn."""
    source = Path(path).resolve().relative_to(Path(repo_root).resolve()).as_posix()
    node = nbformat.read(str(path), as_version=4)
    cells = markdown_cells(node)
    learn = relocate_links(section(cells, "What you will learn", source), source)
    return Notebook(source, page_filename(source), title("\n".join(cells), source), learn,
                    exercises("\n".join(cells)), node)


def plain(text):
    """``text`` without Markdown code marks (for a page's <title>)."""
    return text.replace("`", "")


def inline_html(text):
    """``text`` as HTML, with Markdown code spans as <code>."""
    parts = html.escape(text).split("`")
    return "".join("<code>{}</code>".format(part) if i % 2 else part for i, part in enumerate(parts))


def solution_bodies(solutions_path):
    """``{function name: body with whitespace collapsed}`` of every reference solution in ``solutions.py``."""
    bodies, name = {}, None
    for line in Path(solutions_path).read_text().splitlines():
        match = SOLUTION_DEF.match(line)
        if match:
            name = match.group(1)
            bodies[name] = []
        elif line and not line[0].isspace():
            name = None
        elif name:
            bodies[name].append(line)
    return {name: collapse(" ".join(body)) for name, body in bodies.items() if collapse(" ".join(body))}


def collapse(text):
    """``text`` with every run of whitespace as one space, stripped."""
    return " ".join(text.split())


def cell_texts(cell):
    """The source of a cell and the text of its outputs (streams, plain text, HTML)."""
    yield cell.source
    for output in cell.get("outputs", []):
        if "text" in output:
            yield output.text
        for mime in ("text/plain", "text/html", "text/markdown"):
            if mime in output.get("data", {}):
                yield output.data[mime]


def check_no_solutions(nb, where, bodies):
    """Raise ``SiteError`` if a cell of ``nb`` (source or output) shows a reference solution."""
    for index, cell in enumerate(nb.cells):
        text = collapse(" ".join(cell_texts(cell)))
        for name, body in bodies.items():
            if body in text:
                raise SiteError("{} cell {} shows the reference solution {} of solutions.py; the site must not: "
                                "remove it (or clear that output) and run make notebooks".format(where, index, name))


class Site:
    """The pages of one build, and how a link in one of them maps to a file of the site."""

    def __init__(self, repo_root, notebooks):
        self.repo_root = Path(repo_root)
        self.notebooks = notebooks
        self.pages = {nb.source: nb.filename for nb in notebooks}
        self.documents = []   # Markdown files linked from the site, rendered as pages (in order found)
        self.copies = set()   # other repository files linked from the site, copied under files/

    def link(self, target, source):
        """Where the link ``target``, written in the repository file ``source``, points on the site."""
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path:
            return target  # a URL, or a fragment/query of the same page
        path = unquote(parts.path)
        if path.startswith("/"):
            resolved = posixpath.normpath(path.lstrip("/"))
        else:
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        fragment = "#" + parts.fragment if parts.fragment else ""
        if resolved.startswith("../") or resolved == "..":
            raise SiteError("{} links to {!r}, outside the repository: link to a URL instead".format(source, target))
        file = self.repo_root / resolved
        if resolved in self.pages:
            return self.pages[resolved] + fragment
        if not file.exists():
            raise SiteError("{} links to {!r}, but {} does not exist: fix the link".format(source, target, resolved))
        if file.is_dir():
            raise SiteError("{} links to the folder {!r}: link to a file in it".format(source, target))
        if resolved.endswith(".md"):
            self.pages[resolved] = page_filename(resolved)
            self.documents.append(resolved)
            return self.pages[resolved] + fragment
        self.copies.add(resolved)
        return "files/" + resolved + fragment

    def rewrite_links(self, page_html, source):
        """``page_html`` with every relative href/src mapped to the site by ``link``."""
        def rewrite(match):
            target = html.unescape(match.group(2))
            return '{}"{}"'.format(match.group(1), html.escape(self.link(target, source), quote=True))
        return LINK_ATTRIBUTE.sub(rewrite, page_html)

    def nav(self, current):
        """The navigation bar of the page ``current`` (a site filename): course index, all notebooks, prev/next."""
        order = [("index.html", "Course index")] + [(nb.filename, nb.title) for nb in self.notebooks]
        names = [name for name, _ in order]
        items = ['<a class="course-nav-index" href="index.html">Course index</a>']
        entries = "".join('<li{}><a href="{}">{}</a></li>'.format(
            ' class="current"' if nb.filename == current else "", nb.filename, inline_html(nb.title))
            for nb in self.notebooks)
        items.append("<details><summary>All notebooks</summary><ol>{}</ol></details>".format(entries))
        items.append('<a href="readme.html">README</a>')
        if current in names:
            at = names.index(current)
            if at > 0:
                items.append('<a class="course-nav-prev" rel="prev" href="{}">&larr; {}</a>'.format(
                    order[at - 1][0], inline_html(order[at - 1][1])))
            if at + 1 < len(order):
                items.append('<a class="course-nav-next" rel="next" href="{}">{} &rarr;</a>'.format(
                    order[at + 1][0], inline_html(order[at + 1][1])))
        return '<nav class="course-nav" aria-label="Course">{}</nav>'.format("".join(items))


def exporter():
    """nbconvert's HTML exporter with the course template (JupyterLab's CSS inlined, no CDN scripts)."""
    return HTMLExporter(extra_template_basedirs=[str(TEMPLATES_DIR)], template_name=TEMPLATE_NAME)


def lab_css(export):
    """The stylesheet that the lab template inlines in every page."""
    return export.environment.loader.get_source(export.environment, "static/index.css")[0]


def render(site, export, nb, source, filename, page_title):
    """One page of the site: ``nb`` as HTML, its links mapped to the site, with the navigation bar."""
    resources = {"metadata": {"name": plain(page_title)},
                 "course_css": (TEMPLATES_DIR / TEMPLATE_NAME / "course.css").read_text()}
    body, _ = export.from_notebook_node(nb, resources=resources)
    if body.count(NAV_PLACEHOLDER) != 2:
        raise SiteError("the template {} lost its navigation placeholders".format(TEMPLATES_DIR / TEMPLATE_NAME))
    body = site.rewrite_links(body, source).replace(NAV_PLACEHOLDER, site.nav(filename))
    inlined = '<style type="text/css">\n{}</style>'.format(lab_css(export))
    return body.replace(inlined, '<link rel="stylesheet" href="{}">'.format(SHARED_CSS))


def markdown_notebook(markdown):
    """A notebook of one Markdown cell (to render a Markdown file with the notebooks' template)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    return nb


def index_markdown(readme, notebooks):
    """The index page as Markdown: the README's title and course map, then each notebook's "What you will learn"."""
    lines = ["# " + title(readme, "README.md"), "",
             "The course's notebooks with their outputs, in course order. Each ends with exercises; their "
             "reference solutions are not on this site (run the notebooks to try them, see the "
             "[README](README.md) and the [teacher's guide](docs/workshop.md)).", "",
             "## Course map", "", section([readme], "Course map", "README.md"), "",
             "## What you will learn, notebook by notebook", ""]
    for nb in notebooks:
        lines += ["### [{}]({})".format(nb.title, nb.source), "", nb.learn, ""]
        if nb.exercises:
            lines += ["Exercises: " + "; ".join("{} {}".format(id, name) for id, name in nb.exercises) + ".", ""]
    return "\n".join(lines)


def build(out_dir, repo_root=paths.REPO_ROOT):
    """Render the site into ``out_dir`` (replaced as a whole once complete); return the list of page files."""
    repo_root = Path(repo_root)
    notebooks = [read_notebook(path, repo_root) for path in list_notebooks(repo_root / "notebooks")]
    if not notebooks:
        raise SiteError("no notebooks (notebooks/NN_*.ipynb) in {}".format(repo_root))
    bodies = solution_bodies(repo_root / SOLUTIONS_FILE)
    site = Site(repo_root, notebooks)
    export = exporter()
    readme = (repo_root / "README.md").read_text()
    pages = {SHARED_CSS: lab_css(export)}
    pages["index.html"] = render(site, export, markdown_notebook(index_markdown(readme, notebooks)),
                                 "index.md", "index.html", title(readme, "README.md"))
    for nb in notebooks:
        check_no_solutions(nb.node, nb.source, bodies)
        pages[nb.filename] = render(site, export, nb.node, nb.source, nb.filename, nb.title)
    site.link("README.md", "index.md")
    for source in site.documents:  # grows while rendering: documents can link further documents
        markdown = (repo_root / source).read_text()
        pages[site.pages[source]] = render(site, export, markdown_notebook(markdown), source,
                                           site.pages[source], title(markdown, source))
    write_atomically(Path(out_dir), pages, {source: repo_root / source for source in site.copies})
    return sorted(name for name in pages if name.endswith(".html"))


def write_atomically(out_dir, pages, copies):
    """Write ``pages`` ({filename: html}) and ``copies`` ({path under files/: source}) into a fresh ``out_dir``."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".site-", dir=str(out_dir.parent)))
    old = None
    try:
        for name, text in pages.items():
            (stage / name).write_text(text, encoding="utf-8")
        for name, source in copies.items():
            target = stage / "files" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(str(source), str(target))
        os.chmod(str(stage), 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=".site-old-", dir=str(out_dir.parent))) / "site"
            os.rename(str(out_dir), str(old))
        os.rename(str(stage), str(out_dir))
    except BaseException:
        if old and not out_dir.exists():
            os.rename(str(old), str(out_dir))  # put the previous site back
        shutil.rmtree(str(stage), ignore_errors=True)
        raise
    finally:
        if old:
            shutil.rmtree(str(old.parent), ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Render the course notebooks into a static website.")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: build/site)")
    parser.add_argument("--repo-root", type=Path, default=paths.REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out_dir = args.out or paths.build_dir() / "site"
    try:
        pages = build(out_dir, args.repo_root)
    except SiteError as error:
        print("error: " + str(error), file=sys.stderr)
        return 1
    print("wrote {} pages to {}; open {}".format(len(pages), out_dir, out_dir / "index.html"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
