"""The HTML view: entity highlights at exactly the predicted spans, labels as bars, nothing fetched."""
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from inference.predictor import Entity, Label, Prediction

TEXT = "GENEVA <b>&</b> talks: Anna Berg met\nofficials of the U.N. in Geneva, then flew to Oslo."


def prediction() -> Prediction:
    names = [("GENEVA", "LOC"), ("Anna Berg", "PER"), ("U.N.", "ORG"), ("Geneva", "LOC"), ("Oslo", "LOC")]
    entities = [Entity(name, label, TEXT.index(name), TEXT.index(name) + len(name), 0.9) for name, label in names]
    labels = {"topic": [Label("summit_diplomacy", 0.8, True), Label("trade", 0.1)],
              "stance": [Label("neutral", 0.7, True), Label("critical", 0.3)]}
    return Prediction(entities, labels, TEXT)


class Marks(HTMLParser):
    """(data-start, data-end, data-label, text inside) of every <mark>, in the order they close
    (an inner mark before the one around it), and every tag seen."""

    def __init__(self):
        super().__init__()
        self.marks, self.tags, self._open = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "mark":
            a = dict(attrs)
            self._open.append([int(a["data-start"]), int(a["data-end"]), a["data-label"], ""])

    def handle_data(self, data):
        for mark in self._open:
            mark[3] += data

    def handle_endtag(self, tag):
        if tag == "mark":
            self.marks.append(tuple(self._open.pop()))


def marks_of(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    return parser


def test_highlights_are_the_entities_and_nothing_is_fetched():
    p = prediction()
    page = p.to_html("Summit")
    parsed = marks_of(page)
    assert parsed.marks == [(e.start, e.end, e.label, TEXT[e.start:e.end]) for e in p.entities]
    assert "b" not in parsed.tags and "&lt;b&gt;&amp;&lt;/b&gt;" in page    # the text's markup is text
    assert "<script" not in page and "src=" not in page and "http" not in page and "@import" not in page
    assert 'class="chosen"' in page and "width:80.0%" in page


@pytest.mark.skipif(not shutil.which("chromium"), reason="no headless Chromium installed")
def test_a_browser_reads_the_same_highlights_back(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(prediction().to_html(), encoding="utf-8")
    out = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert marks_of(out.stdout).marks == [(e.start, e.end, e.label, e.text) for e in prediction().entities]


def test_a_page_with_half_an_emoji_can_be_saved(tmp_path):
    text = "Talks in Geneva \ud83d resumed."   # a lone surrogate: an emoji cut in two
    page = Prediction([Entity("Geneva", "LOC", 9, 15, 0.9)], {}, text).to_html()
    (tmp_path / "page.html").write_text(page, encoding="utf-8")   # before: UnicodeEncodeError
    assert "</mark> \ufffd resumed" in page and marks_of(page).marks == [(9, 15, "LOC", "Geneva")]


def test_each_entity_type_of_a_page_has_a_colour_of_its_own():
    """Before: types beyond the CoNLL four cycled through four spares, AGE and MONEY sharing one,
    and took colours per section, one of them PER's on a page where another section had PER."""
    import re
    from inference.html import render

    def section(types):
        text = " ".join(types)
        return Prediction([Entity(t, t, text.index(t), text.index(t) + len(t), 0.9) for t in types], {}, text)
    page = render([section(["AGE", "DATE", "EVENT", "LOC", "MONEY", "PERSON"]), section(["PER", "ORG"])])
    colours = set(re.findall(r'<mark style="background:(#\w+)" data-label="(\w+)"', page))
    assert len({colour for colour, _ in colours}) == len(colours) == 8   # one colour, one type


def test_a_page_titled_none_takes_the_default_title():
    """Before: AttributeError ('NoneType' object has no attribute 'replace')."""
    page = prediction().to_html(None)
    assert page == prediction().to_html() and "<title>Prediction</title>" in page
    assert "<h1>2024</h1>" in prediction().to_html(2024)


def test_titles_must_be_one_for_each_prediction():
    """Before: a page of three predictions with two titles had two sections, the third dropped."""
    from inference.html import render
    with pytest.raises(ValueError, match="3 predictions but 2 titles"):
        render([prediction()] * 3, ["a", "b"])
    assert render([prediction()] * 3).count("<section>") == 3   # no titles: the defaults, one for each


def test_the_default_titles_are_those_of_predict_html():
    """Before: "Document 1" here, "document 1" from `predict --html`."""
    from inference.html import render
    assert "<h1>document 1</h1>" in render([prediction()]) and "<h1>document 2</h1>" in render([prediction()] * 2)


def test_right_to_left_text_takes_its_own_direction():
    """Before: the page set no direction, so an Arabic or Hebrew text was laid out left to right."""
    import re
    text = "\u0645\u062d\u0627\u062f\u062b\u0627\u062a \u0641\u064a \u062c\u0646\u064a\u0641.\nTalks in Geneva."
    page = Prediction([Entity("Geneva", "LOC", text.index("Geneva"), text.index("Geneva") + 6, 0.9)], {}, text).to_html()
    assert re.search(r'<div class="text" dir="auto">', page)
    assert re.search(r"\.text \{[^}]*unicode-bidi: plaintext", page)   # each line its own direction


def test_a_shown_score_is_on_the_side_of_its_choice():
    """Before: 0.5004 chosen and 0.4996 not chosen (threshold 0.5) both showed "0.50"."""
    import re
    labels = {"topic": [Label("trade", 0.5004, True), Label("energy", 0.4996), Label("sport", 0.8, True), Label("war", 0.8),
                        Label("oil", 0.991, True)]}   # a chosen score is rounded as usual: not 1.00
    page = Prediction([], labels, "Trade talks.").to_html()
    shown = re.findall(r'<tr class="(\w*)"><td>(\w+)</td>.*?<td>([\d.]+)</td></tr>', page)
    assert shown == [("chosen", "trade", "0.50"), ("", "energy", "0.49"), ("chosen", "sport", "0.80"), ("", "war", "0.80"),
                     ("chosen", "oil", "0.99")]


def test_entities_of_two_ner_tasks_on_the_same_words_are_both_highlighted():
    """Before: an entity that another task's entity held or matched was left off the page ("Russian
    Navy" under "Russian", re3d's "Location" under "LOC"): two of these four were shown."""
    text = "The Russian Navy sailed to Geneva, then Oslo."
    entities = [Entity("Russian", "Nationality", 4, 11, 0.8, "re3d"), Entity("Russian Navy", "ORG", 4, 16, 0.9),
                Entity("Geneva", "LOC", 27, 33, 0.9), Entity("Geneva", "Location", 27, 33, 0.7, "re3d"),
                Entity("Oslo", "LOC", 40, 44, 0.9)]
    page = Prediction(entities, {}, text).to_html()
    marks = marks_of(page).marks
    assert sorted(marks) == sorted((e.start, e.end, e.label, e.text) for e in entities)
    assert marks[:2] == [(4, 11, "Nationality", "Russian"), (4, 16, "ORG", "Russian Navy")]   # the shorter inside
    assert page.count("<mark") == page.count("</mark>") == 5


def test_an_entity_crossing_another_tasks_is_marked_in_pieces():
    """Before: an entity that crossed another task's entity, neither holding the other, was left off
    the page ("Navy sailed" across "Russian Navy", "talks in Geneva" across both Genevas)."""
    import re
    text = "The Russian Navy sailed to Geneva talks in Geneva, then Oslo."
    entities = [Entity("Russian Navy", "ORG", 4, 16, 0.9), Entity("Navy sailed", "MISC", 12, 23, 0.5, "events"),
                Entity("Geneva", "LOC", 27, 33, 0.9), Entity("Geneva talks", "EVENT", 27, 39, 0.6, "events"),
                Entity("talks in Geneva", "EVENT", 34, 49, 0.4, "other"), Entity("Geneva", "LOC", 43, 49, 0.9),
                Entity("Oslo", "LOC", 56, 60, 0.9)]
    page = Prediction(entities, {}, text).to_html()
    pieces = {}
    for start, end, label, inside in marks_of(page).marks:   # a piece closes before the next of its entity opens
        pieces[start, end, label] = pieces.get((start, end, label), "") + inside
    assert pieces == {(e.start, e.end, e.label): e.text for e in entities}
    tags = re.findall(r'<mark [^>]*data-start="(\d+)"[^>]*>', page)
    cut = re.findall(r'<mark [^>]*data-start="(\d+)"[^>]*class="cut">', page)
    assert sorted(tags) == sorted([str(e.start) for e in entities] + ["12", "34"])   # each crossing one in two
    assert cut == ["12", "34"]   # the label follows the last piece alone
    assert page.count("<mark") == page.count("</mark>") == 9


def test_a_mark_names_the_ner_task_of_its_entity():
    """Before: a mark said its type and score alone: re3d's "LOC" and the news task's were one to the reader."""
    text = "Talks in Geneva."
    page = Prediction([Entity("Geneva", "LOC", 9, 15, 0.91, "re3d"), Entity("Geneva", "LOC", 9, 15, 0.8)], {},
                      text).to_html()
    assert 'data-task="re3d"' in page and 'title="LOC 0.91 (re3d)"' in page
    assert 'data-task="entities"' in page and 'title="LOC 0.80 (entities)"' in page


def test_an_entity_score_is_rounded_as_a_chosen_labels_is():
    """Before: a hover score was formatted with :.2f, which rounds the float's binary value, and a
    label cell by the decimal rule: 0.295 showed as 0.29 on its entity and 0.30 on its label."""
    import re
    text = "Talks in Geneva."
    page = Prediction([Entity("Geneva", "LOC", 9, 15, 0.295)], {"topic": [Label("trade", 0.295, True)]},
                      text).to_html()
    assert 'title="LOC 0.30 (entities)"' in page
    assert re.findall(r'<td>([\d.]+)</td></tr>', page) == ["0.30"]


def test_a_pairs_second_text_is_on_the_page_its_labels_read():
    """Before: a pair's page showed the headline and the stance decided on headline and body, and
    not the body, which the page said nothing of (Prediction kept no pair)."""
    body = "Officials <i>in</i> Geneva denied it."
    page = Prediction([Entity("Geneva", "LOC", 9, 15, 0.9)], {"stance": [Label("disagree", 0.8, True)]},
                      "Talks in Geneva", pair=body).to_html()
    assert "<h2>second text</h2>" in page and "Officials &lt;i&gt;in&lt;/i&gt; Geneva denied it." in page
    assert marks_of(page).marks == [(9, 15, "LOC", "Geneva")]   # the body's "Geneva" is no entity of the page
    for unread in (" ", "\U0001F600"):   # a blank one, or one the encoder cannot read (emoji), is dropped: the labels
        assert "second text" not in Prediction([], {}, "Talks in Geneva", pair=unread).to_html()   # read none


def test_the_page_claims_no_language():
    """Before: lang="en" on every page, a Portuguese article's too (e5-small reads it)."""
    page = Prediction([], {}, "Conversações em Genebra.").to_html()
    assert "<html>" in page and "lang=" not in page
