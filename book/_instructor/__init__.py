"""Instructor-only code that chapters import: never published (tools/student_repo.py lists what is,
and book/_instructor/ is not in it; _config.yml keeps it out of the book's pages)."""
