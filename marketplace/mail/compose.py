"""Mail texts live in templates/<name>.<language>.txt, one per language the marketplace
speaks: a `subject` block and a `body` block of plain text. A language without its own file
gets the English one. A <name>.<language>.html beside it (a `body` block, escaped as HTML)
adds an HTML alternative; the text stays the part every client can read."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from marketplace.mail.message import Message

# Plain text, not HTML: nothing to escape, and a missing value is a bug, not an empty line.
_templates = Environment(loader=PackageLoader("marketplace.mail"), autoescape=False, undefined=StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True)
# HTML: every value escaped, so a buyer's or merchant's name cannot add markup to a mail.
_html_templates = Environment(loader=PackageLoader("marketplace.mail"), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def compose(name: str, *, to: str, language: str, **values: object) -> Message:
    """The message `name` for `to`, in `language` (else English), with `values` filled in."""
    template = _templates.select_template([f"{name}.{language}.txt", f"{name}.en.txt"])
    context = template.new_context(values)
    subject = "".join(template.blocks["subject"](context)).strip()
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    try:
        html_template = _html_templates.select_template([f"{name}.{language}.html", f"{name}.en.html"])
    except TemplateNotFound:
        html = None
    else:
        html = html_template.render(values, subject=subject).strip() + "\n"
    return Message(to=to, subject=subject, body=body, html=html)
