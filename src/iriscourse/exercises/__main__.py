"""Print the room's progress: ``python -m iriscourse.exercises`` (``make progress``)."""
from . import progress

rows = progress()
width = max(len(title) for _, title, _, _ in rows)
print("{:<6}{:<{w}}  {:<7} {}".format("id", "exercise", "level", "status", w=width))
for id, title, level, status in rows:
    print("{:<6}{:<{w}}  {:<7} {}".format(id, title, level, status, w=width))
solved = sum(status == "solved" for *_, status in rows)
print("\n{} of {} exercises solved".format(solved, len(rows)))
