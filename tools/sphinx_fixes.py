"""Small fixes to what Sphinx writes into every page (a Sphinx extension, see _config.yml).

Sphinx 7.4 emits sphinx-thebe's inline script (``const THEBE_JS_URL = ...``) twice per page,
and the second copy is a JavaScript error ("Identifier has already been declared") that the
browser test rightly reports. Drop repeated scripts before the page is written.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
