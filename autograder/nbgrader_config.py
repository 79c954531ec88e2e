# nbgrader configuration of the course. The repository root is the course root:
# instructors edit solutions/, students get assignments/ (generated, committed).
# `python -m autograder` loads this file; so does plain `nbgrader` run from the repository
# root, through the two-line nbgrader_config.py there.
c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# Everything besides notebooks in an assignment folder is copied to the release;
# never copy caches or checkpoints.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell that runs longer than this is stopped and scores 0 (training cells included).
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
