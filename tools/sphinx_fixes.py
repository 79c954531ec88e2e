"""Small fixes to what Sphinx writes into every page (a Sphinx extension, see _config.yml).

Sphinx 7.4 emits sphinx-thebe's inline script (``const THEBE_JS_URL = ...``) twice per page,
and the second copy is a JavaScript error ("Identifier has already been declared") that the
browser test rightly reports. Drop repeated scripts before the page is written.

The theme's Binder and Colab buttons open a page's source in the repository, a MyST Markdown
file for our chapters: Colab opens only notebooks, and JupyterLab without jupytext shows the
Markdown as text. The student repository holds each chapter also as a plain notebook beside it
(tools/student_repo.py), so the buttons open that instead.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _launch_notebooks(app, pagename, templatename, context, doctree):
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("url", "").endswith(".md"):
                button["url"] = button["url"].removesuffix(".md") + ".ipynb"


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    app.connect("html-page-context", _launch_notebooks, priority=900)  # after the theme's, at 501
    return {"parallel_read_safe": True, "parallel_write_safe": True}
