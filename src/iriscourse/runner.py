"""Run the course notebooks headlessly with papermill, in order, and report how it went.

    python -m iriscourse.runner [--only 01 ...] [-p NAME VALUE ...] [--write-back]
"""
import argparse
import sys
import time
from pathlib import Path

import nbformat
import papermill
import yaml

from . import paths

VOLATILE_METADATA = ("papermill", "execution")


def list_notebooks(notebooks_dir, only=()):
    """The course notebooks (``NN_*.ipynb``) in order, kept to the ``only`` prefixes if given."""
    found = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [nb for nb in found if any(nb.name.startswith(prefix) for prefix in only)]
    return found


def describe_failure(error):
    """Where and why a notebook failed, in one line."""
    if isinstance(error, papermill.PapermillExecutionError):
        return "cell {} (execution count {}): {}: {}".format(
            error.cell_index, error.exec_count, error.ename, error.evalue.splitlines()[0] if error.evalue else "")
    return "{}: {}".format(type(error).__name__, error)


def execute(notebook, out_dir, parameters, kernel_name=paths.KERNEL_NAME):
    """Execute one notebook into ``out_dir``; return (status, seconds, failure or None)."""
    start = time.monotonic()
    try:
        papermill.execute_notebook(
            str(notebook), str(Path(out_dir) / notebook.name), parameters=parameters or None,
            kernel_name=kernel_name, cwd=str(notebook.parent), progress_bar=True,
            execution_timeout=600)
    except Exception as error:  # noqa: BLE001 - any failure is reported, then the run stops
        return "failed", time.monotonic() - start, describe_failure(error)
    return "ok", time.monotonic() - start, None


def strip_volatile_metadata(nb):
    """Drop papermill's and nbclient's timing metadata so committed notebooks stay stable."""
    for key in VOLATILE_METADATA:
        nb.metadata.pop(key, None)
        for cell in nb.cells:
            cell.metadata.pop(key, None)
    return nb


def write_back(executed, source):
    """Copy an executed notebook's outputs over its source notebook."""
    nb = strip_volatile_metadata(nbformat.read(str(executed), as_version=4))
    nbformat.write(nb, str(source))


def report(rows):
    """The results as a Markdown table: notebook, status, seconds."""
    lines = ["| notebook | status | seconds |", "|---|---|---:|"]
    for name, status, seconds in rows:
        lines.append("| {} | {} | {} |".format(name, status, "" if seconds is None else "{:.1f}".format(seconds)))
    return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Run the course notebooks with papermill.")
    parser.add_argument("--only", nargs="*", default=[], metavar="NN",
                        help="run only the notebooks whose names start with these prefixes, e.g. 01")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter for every notebook that declares it (YAML value)")
    parser.add_argument("--write-back", action="store_true",
                        help="copy the executed outputs back into notebooks/ (default parameters only)")
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    """Run the notebooks; exit non-zero naming the notebook and cell of the first failure."""
    args = parse_args(argv)
    parameters = {name: yaml.safe_load(value) for name, value in args.parameter}
    if args.write_back and parameters:
        sys.exit("--write-back keeps the committed outputs comparable: run it without -p parameters.")
    out_dir = args.out_dir or paths.build_dir() / "executed"
    out_dir.mkdir(parents=True, exist_ok=True)
    notebooks = list_notebooks(args.notebooks_dir, args.only)
    if not notebooks:
        sys.exit("No notebook in {} matches {}.".format(args.notebooks_dir, " ".join(args.only) or "NN_*.ipynb"))

    rows, failure = [], None
    for number, notebook in enumerate(notebooks, 1):
        if failure:
            rows.append((notebook.name, "not run", None))
            continue
        print("[{}/{}] {}".format(number, len(notebooks), notebook.name), flush=True)
        status, seconds, failure = execute(notebook, out_dir, parameters)
        rows.append((notebook.name, status, seconds))
        if failure:
            failure = "{} failed at {}".format(notebook.name, failure)
        elif args.write_back:
            write_back(out_dir / notebook.name, notebook)

    table = report(rows)
    text = "# Course run\n\n" + table + ("\n**{}**\n".format(failure) if failure else "")
    report_path = out_dir.parent / "course-report.md"
    report_path.write_text(text)
    print("\n" + table + "\nExecuted notebooks: {}\nReport: {}".format(out_dir, report_path))
    if failure:
        print("\nFAILED: " + failure, file=sys.stderr)
        print("Open {} to see the error in context.".format(out_dir / failure.split(" ")[0]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
