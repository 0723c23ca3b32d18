"""Highlights for the embedded engine.

tantivy's SnippetGenerator picks the best fragment of a field and says which byte ranges
matched; it only knows exact terms, so words matched through typo tolerance or as a prefix
are first resolved to the real words of the titles on the page ("cinamon" -> "cinnamon",
"guavab" -> "guavaberry") and added to the terms to highlight. The title is tried first,
then the description, both in the language the hit is shown in. The fragment is
HTML-escaped and the matches wrapped in <mark>, nothing else.

English fields hold their terms stemmed before tantivy sees them (embedded_schema.
english_terms), which tantivy's generator cannot read back, so English texts are marked here
(english_snippet): a word is marked when its English term is one the query asked for
("seasons" for "season"), or it is a word matched through a typo or a prefix.
"""

from __future__ import annotations

import re
from html import escape

import tantivy
from tantivy import Occur, Query

from search import synonyms
from search.engines.embedded_query import MIN_PREFIX, TextPlan
from search.typos import edit_distance
from search.engines.embedded_schema import ENGLISH, LANGUAGES, PLAIN, SCHEMA, analyze, english_terms, stemmed

DESCRIPTION_CHARS = 160


def matched_words(plan: TextPlan, titles: list[str]) -> set[str]:
    """The words of `titles` that typo tolerance or a prefix matched, to highlight them too.
    Both look at titles (and keywords) only."""
    matched: set[str] = set()
    tokens = {t for title in titles for t in analyze(PLAIN, title)}
    for part in plan.parts:
        words = analyze(PLAIN, part.original)
        if len(words) != 1 or part.common:
            continue
        word, edits = words[0], synonyms.max_edits(words[0])
        if plan.completes(part) and len(word) >= MIN_PREFIX:
            matched.update(t for t in tokens if len(t) > len(word) and edit_distance(word, t[: len(word)], edits) <= edits)
        if edits:
            matched.update(t for t in tokens if edit_distance(word, t, edits) <= edits)
    return matched


class Highlighter:
    """One per search: snippet generators for the display language's title and description."""

    def __init__(self, searcher: tantivy.Searcher, plan: TextPlan | None, extra_words: set[str]):
        self._searcher = searcher
        # Stopwords ("de", "the") only help ranking: marking every "de" of a title would be noise.
        self._phrases = [a for p in plan.parts if not p.optional for a in p.alternatives] + sorted(extra_words) if plan else []
        self._generators: dict[str, tantivy.SnippetGenerator | None] = {}

    def highlight(self, document: dict, language: str) -> str:
        title = display(document["title"], language)
        lang = language if language in document["title"] else _language_of(document["title"], title)
        html = self._snippet(f"title_{lang}", stemmed(lang), title)
        description = document["description"].get(lang, "")
        if html is None and description:
            html = self._snippet(f"description_{lang}", stemmed(lang), description)
        return html if html is not None else escape(title)

    def _snippet(self, field_name: str, analyzer: str, text: str) -> str | None:
        if analyzer == ENGLISH:
            return english_snippet(text, self._english_wanted())
        if field_name not in self._generators:
            self._generators[field_name] = self._generator(field_name, analyzer)
        generator = self._generators[field_name]
        if generator is None:
            return None
        snippet = generator.snippet_from_doc(tantivy.Document(**{field_name: text}))
        return render(snippet, text)

    def _generator(self, field_name: str, analyzer: str) -> tantivy.SnippetGenerator | None:
        terms = dict.fromkeys(t for phrase in self._phrases for t in analyze(analyzer, phrase))
        if not terms:
            return None
        query = Query.boolean_query([(Occur.Should, Query.term_query(SCHEMA, field_name, t)) for t in terms])
        generator = tantivy.SnippetGenerator.create(self._searcher, query, SCHEMA, field_name)
        generator.set_max_num_chars(DESCRIPTION_CHARS)
        return generator

    def _english_wanted(self) -> frozenset[str]:
        """English terms and plain words to mark (typos and completions are plain words)."""
        if "en" not in self._generators:
            self._generators["en"] = frozenset(t for phrase in self._phrases
                                               for t in (*english_terms(phrase), *analyze(PLAIN, phrase)))
        return self._generators["en"]


WORD = re.compile(r"[^\W_]+")  # as tantivy's simple tokenizer splits


def english_snippet(text: str, wanted: frozenset[str], max_chars: int = DESCRIPTION_CHARS) -> str | None:
    """`text` (cut to about `max_chars` around its first match) as HTML with the words whose
    English term or folded form is `wanted` in <mark>; None when no word is."""
    spans = [match.span() for match in WORD.finditer(text)]
    plain, terms = analyze(PLAIN, text), english_terms(text)
    if len(plain) != len(spans):  # a word tantivy drops (over 40 letters): read them one by one
        plain = [next(iter(analyze(PLAIN, text[a:b])), "") for a, b in spans]
        terms = [next(iter(english_terms(text[a:b])), "") for a, b in spans]
    marked = [span for span, word, term in zip(spans, plain, terms, strict=True) if word in wanted or term in wanted]
    if not marked:
        return None
    start = 0 if len(text) <= max_chars else max(0, text.rfind(" ", 0, max(0, marked[0][0] - 20)) + 1)
    end = len(text)
    if end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        end = cut if cut > start else start + max_chars
    out, position = [], start
    for a, b in marked:
        if a < start or b > end:
            continue
        out += [escape(text[position:a]), f"<mark>{escape(text[a:b])}</mark>"]
        position = b
    out.append(escape(text[position:end]))
    return ("…" if start > 0 else "") + "".join(out).strip() + ("…" if end < len(text) else "")


def render(snippet: tantivy.Snippet, text: str) -> str | None:
    """The fragment as HTML: escaped, matches in <mark>, an ellipsis where text was cut."""
    ranges = sorted((r.start, r.end) for r in snippet.highlighted())
    if not ranges:
        return None
    fragment = snippet.fragment().encode()
    out, position = [], 0
    for start, end in ranges:
        if start < position:
            continue
        out.append(escape(fragment[position:start].decode(errors="ignore")))
        out.append(f"<mark>{escape(fragment[start:end].decode(errors='ignore'))}</mark>")
        position = end
    out.append(escape(fragment[position:].decode(errors="ignore")))
    html = "".join(out).strip()
    whole = snippet.fragment_range()
    if whole.start > 0:
        html = "…" + html
    if whole.end < len(text.encode()):
        html += "…"
    return html


def display(titles: dict[str, str], language: str) -> str:
    return titles.get(language) or titles.get("en") or next(iter(titles.values()), "")


def _language_of(titles: dict[str, str], title: str) -> str:
    return next((lang for lang, text in titles.items() if text == title and lang in LANGUAGES), "en")
