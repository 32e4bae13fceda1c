"""README.zh-CN.md stays in step with README.md: the same commands, notebook links and sections.

README.md is the source. When a check here fails, its message says what to update in README.zh-CN.md.
Prose may be reworded and reflowed freely; shell commands (comments aside), notebook links, the heading
structure and the cross-links may not drift.
"""
import difflib
import re
import shlex

import pytest

from iriscourse import paths

EN_PATH = paths.REPO_ROOT / "README.md"
ZH_PATH = paths.REPO_ROOT / "README.zh-CN.md"
EN_TEXT = EN_PATH.read_text(encoding="utf-8")
ZH_TEXT = ZH_PATH.read_text(encoding="utf-8")

FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
HEADING = re.compile(r"^(#{1,6})\s+(\S.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
NOTEBOOK_LINK = re.compile(r"^notebooks/\d\d_[^/]+\.ipynb$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def parse(text):
    """Split Markdown into prose lines and fenced code blocks, each line kept with its index."""
    prose, blocks, block, fence = [], [], None, None
    for index, line in enumerate(text.splitlines()):
        if block is None:
            opening = FENCE.match(line)
            if opening:
                fence = opening.group(1)
                block = (opening.group(2).lower(), [])
                blocks.append(block)
            else:
                prose.append((index, line))
        elif line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            block = None
        else:
            block[1].append((index, line))
    return prose, blocks


def _without_comment(line):
    """The line up to an unquoted ``#`` that starts a word (bash's rule for comments)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def command_lines(text):
    """Indices of the lines of shell code blocks that hold a command (not only a comment)."""
    return [index for language, lines in parse(text)[1] if language in SHELL_LANGUAGES
            for index, line in lines if _without_comment(line).strip()]


def shell_commands(text):
    """The commands of the shell code blocks, in order: comments dropped, continuations joined, tokenized."""
    commands = []
    for language, lines in parse(text)[1]:
        if language not in SHELL_LANGUAGES:
            continue
        pending = ""
        for _, line in lines:
            code = _without_comment(line).strip()
            if code.endswith("\\"):
                pending += code[:-1] + " "
                continue
            code, pending = pending + code, ""
            if code.strip():
                try:
                    tokens = shlex.split(code)
                except ValueError:
                    tokens = code.split()
                commands.append(" ".join(shlex.quote(token) for token in tokens))
        if pending.strip():
            commands.append(" ".join(pending.split()))
    return commands


def headings(text):
    """(level, title) of every heading outside code blocks, in order."""
    found = []
    for _, line in parse(text)[0]:
        match = HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def link_targets(text):
    """Targets of the inline and reference links outside code blocks, in order."""
    targets = []
    for _, line in parse(text)[0]:
        targets += LINK.findall(INLINE_CODE.sub("", line))
        targets += REFERENCE_LINK.findall(line)
    return targets


def notebook_links(text):
    """The ``notebooks/NN_*.ipynb`` link targets, in order."""
    return [target for target in link_targets(text) if NOTEBOOK_LINK.match(target)]


def relative_links(text):
    """Link targets that name a file of the repository (no URL scheme, no in-page anchor), anchors cut."""
    return [target.split("#")[0] for target in link_targets(text)
            if not SCHEME.match(target) and not target.startswith("#")]


def _diff(english, chinese):
    return "\n".join(difflib.unified_diff(english, chinese, "README.md", "README.zh-CN.md", lineterm="", n=1))


def command_drift(en, zh):
    """Problems with README.zh-CN.md's shell commands, compared with README.md's."""
    english, chinese = shell_commands(en), shell_commands(zh)
    if not english:
        return ["README.md has no commands in ```bash blocks: the parser no longer finds them"]
    if english == chinese:
        return []
    return ["the shell commands of README.zh-CN.md's code blocks differ from README.md's (comments aside). "
            "Copy each command from README.md into the same ```bash block of README.zh-CN.md, in the same "
            "order; only the comments are translated. '-' lines are only in README.md, '+' lines only in "
            "README.zh-CN.md:\n" + _diff(english, chinese)]


def notebook_link_drift(en, zh):
    """Problems with README.zh-CN.md's notebook links, compared with README.md's."""
    english, chinese = notebook_links(en), notebook_links(zh)
    if not english:
        return ["README.md links to no notebooks/NN_*.ipynb: the parser no longer finds the course map"]
    if english == chinese:
        return []
    return ["README.zh-CN.md's notebook links differ from README.md's: give README.zh-CN.md's course map the "
            "same rows in the same order (add a translated row for each '-' notebook, remove each '+' one):\n"
            + _diff(english, chinese)]


def section_drift(en, zh):
    """Problems with README.zh-CN.md's sections, compared with README.md's."""
    english, chinese = headings(en), headings(zh)
    if not english:
        return ["README.md has no headings: the parser no longer finds them"]
    outline = "\n".join("{:<60} {}".format("#" * el + " " + et, "#" * cl + " " + ct) for (el, et), (cl, ct)
                        in _zip_longest(english, chinese))
    problems = []
    for level in sorted({level for level, _ in english + chinese}):
        count_en = sum(1 for heading_level, _ in english if heading_level == level)
        count_zh = sum(1 for heading_level, _ in chinese if heading_level == level)
        if count_en != count_zh:
            problems.append("README.md has {} '{}' sections and README.zh-CN.md has {}: translate the missing "
                            "ones (or remove the extra ones) so that both have the same sections; README.md's "
                            "outline beside README.zh-CN.md's:\n{}".format(count_en, "#" * level, count_zh,
                                                                           outline))
    if not problems and [l for l, _ in english] != [l for l, _ in chinese]:
        problems.append("README.zh-CN.md has as many sections as README.md but in a different order or nesting: "
                        "put them in README.md's order, at its heading levels; the two outlines side by side:\n"
                        + outline)
    return problems


def _zip_longest(english, chinese):
    blank = (0, "")
    return [(english[i] if i < len(english) else blank, chinese[i] if i < len(chinese) else blank)
            for i in range(max(len(english), len(chinese)))]


def _links_at_top(text, target):
    top = []
    for _, line in parse(text)[0]:
        if line.startswith("## "):
            break
        top.append(line)
    return target in relative_links("\n".join(top))


def cross_link_problems(en, zh):
    """Missing language links between the two READMEs (each above its first '##' section)."""
    problems = []
    if not _links_at_top(en, "README.zh-CN.md"):
        problems.append("README.md must link to the Chinese version above its first '##' section, "
                        "e.g. a line '[中文说明](README.zh-CN.md)' under the title")
    if not _links_at_top(zh, "README.md"):
        problems.append("README.zh-CN.md must link back to README.md above its first '##' section, "
                        "e.g. a line '[English](README.md)' under the title")
    return problems


def broken_links(en, zh):
    """README.zh-CN.md's relative links that name no file or folder of the repository."""
    targets = relative_links(zh)
    if not targets:
        return ["README.zh-CN.md has no relative links: the parser no longer finds them"]
    return ["README.zh-CN.md links to {}, which does not exist in the repository: correct the link (use the "
            "target README.md uses for the same thing)".format(target)
            for target in targets if not (paths.REPO_ROOT / target).exists()]


CHECKS = {
    "commands": command_drift,
    "notebook-links": notebook_link_drift,
    "sections": section_drift,
    "cross-links": cross_link_problems,
    "relative-links": broken_links,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_chinese_readme_is_in_step_with_the_english_one(name):
    problems = CHECKS[name](EN_TEXT, ZH_TEXT)
    assert not problems, "\n\n".join(problems)


def test_the_parsers_find_what_the_readme_holds():
    assert shell_commands(EN_TEXT)[:2] == ["make course", "make test"]
    assert notebook_links(EN_TEXT)[0] == "notebooks/00_environment_and_data.ipynb"
    assert (2, "The two commands") in headings(EN_TEXT)
    assert "docs/workshop.md" in relative_links(EN_TEXT)


def test_shell_commands_drop_comments_join_continuations_and_ignore_quoting_and_spacing():
    text = ("```bash\n# only a comment\nmake course   # builds it\n"
            "  jupyter notebook x/ \\\n    --o='a b' --p=1 # tail\n"
            "echo a#b \"# not a comment\"\n```\n"
            "```text\nnot a command\n```\n"
            "   ```sh\n   ls   -l\n   ```\n")
    assert shell_commands(text) == ["make course", "jupyter notebook x/ '--o=a b' --p=1",
                                    "echo 'a#b' '# not a comment'", "ls -l"]


def _replace_line(text, index, new):
    lines = text.splitlines()
    lines[index] = new
    return "\n".join(line for line in lines if line is not None) + "\n"


def _swap_lines(text, first, second):
    lines = text.splitlines()
    lines[first], lines[second] = lines[second], lines[first]
    return "\n".join(lines) + "\n"


def _line_indices(text, pattern):
    return [index for index, line in parse(text)[0] if re.search(pattern, line)]


def _first_command_changed(text):
    index = command_lines(text)[0]
    return _replace_line(text, index, re.sub(r"^(\s*\S+)", r"\1 --changed", text.splitlines()[index], count=1))


def _last_command_dropped(text):
    return _replace_line(text, command_lines(text)[-1], None)


def _two_commands_swapped(text):
    first, second = command_lines(text)[:2]
    return _swap_lines(text, first, second)


def _first_shell_block_made_text(text):
    return re.sub(r"```bash", "```text", text, count=1)


def _last_notebook_row_dropped(text):
    return _replace_line(text, _line_indices(text, r"\]\(notebooks/\d\d_")[-1], None)


def _two_notebook_rows_swapped(text):
    first, second = _line_indices(text, r"\]\(notebooks/\d\d_")[:2]
    return _swap_lines(text, first, second)


def _notebook_link_renamed(text):
    return re.sub(r"\]\(notebooks/(\d\d)_", r"](notebooks/\1_renamed_", text, count=1)


def _subsection_made_bold(text):
    return re.sub(r"^### (.*)$", r"**\1**", text, count=1, flags=re.M)


def _section_demoted(text):
    return re.sub(r"^## (.*)$", r"### \1", text, count=1, flags=re.M)


def _section_and_subsection_swapped_levels(text):
    return _section_demoted(re.sub(r"^### (.*)$", r"## \1", text, count=1, flags=re.M))


def _link_back_removed(text):
    return re.sub(r"\[([^\]]*)\]\(README\.md\)", r"\1", text)


def _link_back_moved_to_the_end(text):
    return _link_back_removed(text) + "\n[English](README.md)\n"


def _link_to_chinese_removed(text):
    return re.sub(r"\[([^\]]*)\]\(README\.zh-CN\.md\)", r"\1", text)


def _workshop_link_broken(text):
    return text.replace("](docs/workshop.md)", "](docs/workshop.zh-CN.md)", 1)


@pytest.mark.parametrize("check, readme, mutation", [
    ("commands", "zh", _first_command_changed),
    ("commands", "zh", _last_command_dropped),
    ("commands", "zh", _two_commands_swapped),
    ("commands", "zh", _first_shell_block_made_text),
    ("commands", "en", _first_command_changed),
    ("notebook-links", "zh", _last_notebook_row_dropped),
    ("notebook-links", "zh", _two_notebook_rows_swapped),
    ("notebook-links", "zh", _notebook_link_renamed),
    ("notebook-links", "en", _last_notebook_row_dropped),
    ("sections", "zh", _subsection_made_bold),
    ("sections", "zh", _section_demoted),
    ("sections", "zh", _section_and_subsection_swapped_levels),
    ("sections", "en", _subsection_made_bold),
    ("cross-links", "zh", _link_back_removed),
    ("cross-links", "zh", _link_back_moved_to_the_end),
    ("cross-links", "en", _link_to_chinese_removed),
    ("relative-links", "zh", _workshop_link_broken),
    ("relative-links", "zh", _notebook_link_renamed),
], ids=lambda value: value.__name__.strip("_") if callable(value) else None)
def test_each_check_catches_a_drift(check, readme, mutation):
    en, zh = EN_TEXT, ZH_TEXT
    if readme == "zh":
        zh = mutation(zh)
        assert zh != ZH_TEXT, "the mutation no longer applies to README.zh-CN.md"
    else:
        en = mutation(en)
        assert en != EN_TEXT, "the mutation no longer applies to README.md"
    problems = CHECKS[check](en, zh)
    assert problems and problems != CHECKS[check](EN_TEXT, ZH_TEXT), "{} missed {}".format(check, mutation.__name__)


def _comments_rewritten_and_commands_reindented(text):
    lines = text.splitlines()
    for index in command_lines(text):
        code = _without_comment(lines[index])
        lines[index] = "      " + code.strip() + ("  # 另一条注释" if code != lines[index] else "")
    return "\n".join(lines) + "\n"


def _heading_inside_a_code_block_added(text):
    return text + "\n```\n## not a section\n[x](missing.md)\n```\n"


def _external_links_and_anchors_added(text):
    return text + "\n[a](https://example.org/missing.md) [b](#troubleshooting)\n"


@pytest.mark.parametrize("mutation", [
    _comments_rewritten_and_commands_reindented,
    _heading_inside_a_code_block_added,
    _external_links_and_anchors_added,
], ids=lambda value: value.__name__.strip("_"))
def test_translation_and_formatting_are_not_drift(mutation):
    zh = mutation(ZH_TEXT)
    assert zh != ZH_TEXT
    for name, check in CHECKS.items():
        assert check(EN_TEXT, zh) == check(EN_TEXT, ZH_TEXT), name
