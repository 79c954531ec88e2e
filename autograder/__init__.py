"""TA tooling around nbgrader: release student versions, validate, grade, feedback, export."""
