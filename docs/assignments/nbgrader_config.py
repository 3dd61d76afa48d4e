"""nbgrader settings for the course kit (run nbgrader from this folder, or use make assignments).

Layout: source/<assignment>/<assignment>.ipynb (with solutions and hidden tests, the instructor's)
-> release/<assignment>/ (what learners get: `make assignments`, committed so that learners
without nbgrader find the assignments in their workspace copies).
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "named-pipes"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# Only notebooks are released and collected: programs a %%writefile cell saved next to a source
# notebook (solutions!) must never reach the release.
c.CourseDirectory.include = ["*.ipynb"]
# The gradebook of `make assignments` is a by-product (git-ignored); a class uses its own.
c.CourseDirectory.db_url = f"sqlite:///{HERE / 'gradebook.db'}"
# Every test bounds its own waits (ipc_grading); this is the last resort for one cell.
c.Execute.timeout = 120
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
