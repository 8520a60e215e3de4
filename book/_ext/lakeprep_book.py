"""Small fixes for the rendered book.

sphinx-thebe (pulled in by Jupyter Book 1) registers its inline configuration script twice, and the
second `const THEBE_JS_URL` declaration is a JavaScript error on every page. Dropping duplicate
script entries before a page is written keeps the browser console clean.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {}) or {}
        # The two copies differ only in filename None versus "" (both mean an inline script).
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # Early: Sphinx stops calling html-page-context handlers at the first that returns a value.
    app.connect("html-page-context", _dedupe_scripts, priority=10)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
