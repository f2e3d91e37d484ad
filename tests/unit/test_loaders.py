"""Loaders: formats, metadata precedence, cleaning, stable ids, and skipping bad input without aborting."""

from __future__ import annotations

import codecs
import collections
import json
import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.errors import InputError
from assistant.loaders import (
    CsvOptions,
    LoadResult,
    clean_text,
    content_hash,
    infer_title,
    load_paths,
    normalize_date,
    origin_file,
)
from assistant.loaders.metadata import ARTICLE_LANGUAGES
from assistant.text.language import detect_language
from assistant.types import Article

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "data" / "articles"
FIXTURES = ROOT / "tests" / "fixtures" / "loaders"
GNAD_CSV = ROOT.parent / "shared" / "corpora" / "gnad10k-test.csv"


def by_id(result: LoadResult) -> dict[str, Article]:
    return {a.id: a for a in result.articles}


def reasons(result: LoadResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = collections.defaultdict(list)
    for skipped in result.skipped:
        out[Path(skipped.path).name].append(skipped.reason)
    return out


# --- the sample corpus


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    result = load_paths([SAMPLE_DIR])
    assert result.skipped == []
    return by_id(result)


def test_seed_ids_metadata_and_files(seeds: dict[str, Article]) -> None:
    assert sorted(seeds) == sorted(p.stem for p in SAMPLE_DIR.glob("*.txt"))
    sidecar = json.loads((SAMPLE_DIR / "_meta.json").read_text(encoding="utf-8"))
    for name, meta in sidecar.items():
        if name.startswith("_"):
            continue
        article = seeds[Path(name).stem]
        assert article.origin == str((SAMPLE_DIR / name).resolve())
        assert article.language == "de"
        assert article.source == meta["source"]
        if meta["title"]:
            assert article.title == meta["title"]
        if meta["date"]:
            assert article.date == meta["date"]
    # title null in the sidecar: inferred from the first line, which is a short one-sentence lede
    assert seeds["002_5656326da5719992"].title.startswith("Kremlsprecher Dmitri Peskow bestätigte")
    result = load_paths([SAMPLE_DIR])
    assert result.files == [str(p.resolve()) for p in sorted(SAMPLE_DIR.glob("*.txt"))]


def test_seed_leading_date_token_is_metadata_not_text(seeds: dict[str, Article]) -> None:
    article = seeds["000_10b77cea8b010999"]
    assert article.text.startswith("Bericht: Weißrussland lieferte")
    assert "date 2024-06" not in article.text
    assert article.date == "2024-06"


def test_seed_boilerplate_is_removed_and_prose_kept(seeds: dict[str, Article]) -> None:
    report24 = seeds["001_7f1c25dc2caf6ca9"].text
    assert "Bild: freepik" not in report24
    assert "https://twitter.com" not in report24
    assert "Spende" not in report24 and "Paypal" not in report24 and "Telegram" not in report24
    assert report24.endswith("liegt nicht im Interesse der von Russland geführten OVKS.")
    assert "Die internationale Gemeinschaft müsse reagieren." in report24
    rt = seeds["000_10b77cea8b010999"].text
    assert "©" not in rt and "Getty Images" not in rt
    assert "Mehr zum Thema" not in rt
    assert rt.endswith("solange Alexander Lukaschenko dort an der Macht ist.")
    welt = seeds["004_5b23b2942ce73acf"].text
    assert "Foto: Shutterstock.com" not in welt
    assert "\n|\n" not in welt
    assert "Jasper Bergmann" in welt  # a byline is not boilerplate we can safely recognise


def test_seed_text_is_normalised(seeds: dict[str, Article]) -> None:
    for article in seeds.values():
        text = article.text
        assert text == text.strip()
        assert "\r" not in text and "\t" not in text and "  " not in text and "\n\n\n" not in text
        assert all(line == line.strip() for line in text.split("\n"))
        assert article.content_hash == content_hash(article)
        assert re.fullmatch(r"[0-9a-f]{64}", article.content_hash)


def test_seed_inference_without_sidecar(tmp_path: Path) -> None:
    for path in SAMPLE_DIR.glob("*.txt"):
        shutil.copy(path, tmp_path / path.name)
    articles = by_id(load_paths([tmp_path]))
    assert articles["000_10b77cea8b010999"].date == "2024-06"
    assert articles["000_10b77cea8b010999"].title.startswith("Bericht: Weißrussland lieferte")
    assert articles["004_5b23b2942ce73acf"].date == "2023-09-27"  # from the "27/09/2023" line
    assert (
        articles["003_a76e6dd3ce9b940e"].title
        == "Wladimir Putin und Alexander Lukaschenko beschließen Militär-Abkommen"
    )
    assert all(a.source == "" and a.language == "de" for a in articles.values())


def test_ids_do_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = load_paths([SAMPLE_DIR])
    monkeypatch.chdir(SAMPLE_DIR.parent)
    relative = load_paths([Path(SAMPLE_DIR.name)])
    assert [(a.id, a.content_hash, a.origin) for a in absolute.articles] == [
        (a.id, a.content_hash, a.origin) for a in relative.articles
    ]
    assert absolute.files == relative.files


# --- paths, ids, skipping


def test_missing_path_raises_a_one_line_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InputError) as info:
        load_paths([SAMPLE_DIR, missing])
    assert str(missing) in str(info.value) and "\n" not in str(info.value)


def test_fixture_folder_loads_everything_it_can() -> None:
    result = load_paths([FIXTURES])
    skipped = reasons(result)
    assert skipped["binary.txt"] == ["binary file (contains NUL bytes)"]
    assert skipped["empty.txt"] == ["empty file"]
    assert skipped["scan.pdf"] == ["unsupported file type '.pdf'"]
    assert skipped["table.csv"] == ["row 2: empty text"]
    assert len(skipped["feed.jsonl"]) == 2
    assert skipped["feed.jsonl"][0].startswith("line 3: invalid JSON")
    assert skipped["feed.jsonl"][1] == "line 4: missing or empty 'text'"
    names = [Path(f).relative_to(FIXTURES).as_posix() for f in result.files]
    assert names == [*sorted(n for n in names if "/" not in n), "nested/brief.txt"]
    assert "_meta.json" not in names
    assert sorted(by_id(result)) == sorted(
        [
            "feed:2",
            "latin1",
            "nested/brief",
            "note",
            "page",
            "table:1",
            "table:3",
            "wire-1",
            "wire-2",
            "wrapped",
        ]
    )


def test_hidden_and_underscore_files_are_ignored_unless_named(tmp_path: Path) -> None:
    (tmp_path / "visible.txt").write_text("Ein sichtbarer Artikel mit etwas Text.", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Versteckt.", encoding="utf-8")
    (tmp_path / "_draft.txt").write_text("Entwurf.", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("Git-Interna.", encoding="utf-8")
    (tmp_path / "_archive").mkdir()
    (tmp_path / "_archive" / "old.txt").write_text("Archiv.", encoding="utf-8")
    result = load_paths([tmp_path])
    assert [a.id for a in result.articles] == ["visible"]
    assert result.files == [str((tmp_path / "visible.txt").resolve())]
    assert [a.id for a in load_paths([tmp_path / "_draft.txt"]).articles] == ["_draft"]


def test_a_file_named_twice_is_loaded_once(tmp_path: Path) -> None:
    result = load_paths([SAMPLE_DIR, SAMPLE_DIR / "001_7f1c25dc2caf6ca9.txt"])
    assert len(result.articles) == 5 and len(result.files) == 5
    single = load_paths([SAMPLE_DIR / "001_7f1c25dc2caf6ca9.txt"])
    assert [a.id for a in single.articles] == ["001_7f1c25dc2caf6ca9"]
    assert single.articles[0].source == "Report24"  # the folder's sidecar applies to a single file too


def test_clashing_stems_get_readable_unique_ids(tmp_path: Path) -> None:
    for rel in ("a/x.txt", "b/x.txt", "c/y.txt", "c/y.md"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Artikel {rel} mit einem ganzen Satz darin.", encoding="utf-8")
    ids = sorted(a.id for a in load_paths([tmp_path]).articles)
    assert ids == ["a/x", "b/x", "c/y.md", "c/y.txt"]


def test_origin_file() -> None:
    assert origin_file("/data/feed.jsonl#12") == "/data/feed.jsonl"
    assert origin_file("/data/table.csv#3") == "/data/table.csv"
    assert origin_file("/data/odd#1.txt") == "/data/odd#1.txt"
    assert origin_file("/data/plain.txt") == "/data/plain.txt"


def test_sidecar_overrides_and_null_keeps_inferred() -> None:
    articles = by_id(load_paths([FIXTURES]))
    wrapped = articles["wrapped"]
    assert (wrapped.source, wrapped.date) == ("Council Gazette", "2024-05-02")
    assert wrapped.title == "Hard-wrapped plain text"  # null title: inferred
    assert wrapped.language == "en"


def test_hard_wrapped_text_is_rejoined_but_real_line_breaks_stay(seeds: dict[str, Article]) -> None:
    wrapped = by_id(load_paths([FIXTURES / "wrapped.txt"]))["wrapped"].text
    paragraphs = wrapped.split("\n\n")
    assert len(paragraphs) == 3 and "\n" not in "".join(paragraphs)
    assert "the new budget for the coming year. Several members" in wrapped
    # the seeds put one paragraph per line: those single line breaks are kept
    assert "\nWas ist passiert?\nDie aserbaidschanische Armee" in seeds["002_5656326da5719992"].text


def test_broken_sidecar_is_reported_but_files_still_load(tmp_path: Path) -> None:
    (tmp_path / "_meta.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Ein Artikel, der trotzdem geladen wird.", encoding="utf-8")
    result = load_paths([tmp_path])
    assert [a.id for a in result.articles] == ["a"]
    assert reasons(result)["_meta.json"][0].startswith("unreadable metadata sidecar")


def test_one_unparseable_file_does_not_abort(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: [unclosed\n---\nText.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Ein guter Artikel.", encoding="utf-8")
    result = load_paths([tmp_path])
    assert [a.id for a in result.articles] == ["b"]
    assert "invalid YAML front matter" in reasons(result)["a.md"][0]


def test_empty_after_cleaning_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "credits.txt").write_text("Foto: dpa\n\nhttps://example.org/x\n|\n", encoding="utf-8")
    result = load_paths([tmp_path])
    assert result.articles == []
    assert reasons(result)["credits.txt"] == ["empty after cleaning"]


# --- formats


def test_html_extracts_article_text_and_metadata() -> None:
    page = by_id(load_paths([FIXTURES / "page.html"]))["page"]
    assert page.title == "Harbour reopens after storm repairs"
    assert (page.date, page.language, page.source) == ("2024-03-05", "en", "The Coastal Herald")
    assert page.url == "https://example.org/news/harbour-reopens"
    assert "MUST-NOT-APPEAR" not in page.text
    assert "cookies" not in page.text and "Accept all" not in page.text
    assert "Photo: Jane Doe" not in page.text
    assert (
        "The harbour of Port Elsie reopened on Tuesday after six weeks of repairs. "
        "The storm in January had destroyed the northern pier.\n\n"
    ) in page.text
    assert "Mayor A. B. Smith said the repairs cost 2.5 million pounds" in page.text
    assert "First item of a list\n" in page.text


def test_html_without_article_uses_the_body(tmp_path: Path) -> None:
    (tmp_path / "plain.htm").write_text(
        "<html><head><title>Nur ein Titel</title></head><body><div id='consent'>Cookies?</div>"
        "<p>Erster Absatz.</p><p>Zweiter <i>Absatz</i>.</p>"
        "<time datetime='2022-02-02T10:00'>x</time></body></html>",
        encoding="utf-8",
    )
    article = load_paths([tmp_path]).articles[0]
    assert article.title == "Nur ein Titel"
    assert article.date == "2022-02-02"
    assert article.text.startswith("Erster Absatz.\n\nZweiter Absatz.")
    assert "Cookies" not in article.text


def test_markdown_front_matter_and_syntax() -> None:
    note = by_id(load_paths([FIXTURES / "note.md"]))["note"]
    assert (note.title, note.date, note.source, note.url, note.language) == (
        "Neue Brücke über die Elbe",
        "2023-09-19",
        "Lokalblatt",
        "https://example.org/bruecke",
        "de",
    )
    text = note.text
    assert "Die neue Brücke wurde am 19. September 2023 eröffnet. Sie verbindet die beiden Ufer" in text
    assert "ist 800 Meter lang." in text
    assert "Baukosten: ca. 120 Mio. Euro\nBauzeit: drei Jahre" in text
    assert "Ein Sprecher sagte: „Wir sind sehr zufrieden.“" in text
    assert "Der Verkehr soll ab Montag rollen." in text
    for syntax in ("#", "**", "](", "![", "`", "> ", "- ", "[ref]", "---"):
        assert syntax not in text, syntax


def test_markdown_heading_is_the_title_without_front_matter(tmp_path: Path) -> None:
    (tmp_path / "n.md").write_text("Intro line\n\n## Der Titel\n\nText *mit* Betonung.\n", encoding="utf-8")
    article = load_paths([tmp_path]).articles[0]
    assert article.title == "Der Titel"
    assert article.text == "Intro line\n\nDer Titel\n\nText mit Betonung."


def test_jsonl_rows() -> None:
    articles = by_id(load_paths([FIXTURES / "feed.jsonl"]))
    wire = articles["wire-1"]
    assert (wire.title, wire.date, wire.source, wire.language) == (
        "Storm warning",
        "2024-01-15",
        "Wire",
        "en",
    )
    assert wire.origin == f"{(FIXTURES / 'feed.jsonl').resolve()}#1"
    assert articles["feed:2"].language == "de"
    assert articles["wire-2"].url == "https://example.org/wire-2"


def test_jsonl_duplicate_ids_and_bad_types(tmp_path: Path) -> None:
    rows = [
        {"id": "x", "text": "Erster Artikel mit Text."},
        {"id": "x", "text": "Zweiter Artikel mit derselben ID."},
        {"id": "y", "text": "Text.", "title": ["not", "a", "string"]},
        [1, 2, 3],
    ]
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = load_paths([tmp_path])
    assert [a.id for a in result.articles] == ["x"]
    # Reported in line order, as the file is read.
    assert reasons(result)["f.jsonl"] == [
        "line 2: duplicate article id 'x' (first loaded from "
        + str((tmp_path / "f.jsonl").resolve())
        + "#1)",
        "line 3: field 'title' must be a string",
        "line 4: not a JSON object",
    ]


def test_csv_with_header() -> None:
    articles = by_id(
        load_paths([FIXTURES / "table.csv"], csv=CsvOptions(id_column="id", title_column="title"))
    )
    assert sorted(articles) == ["c-1", "c-3"]
    assert articles["c-3"].title == "Zweiter Artikel, mit Komma"
    assert articles["c-3"].text == "Ein mehrzeiliger Text.\nEr hat zwei Zeilen."
    assert articles["c-1"].date is None  # no date column configured


def test_csv_by_index_without_header(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("Politik|Ein Artikel über Politik.|2021-05-06\n", encoding="utf-8")
    options = CsvOptions(delimiter="|", has_header=False, label_column=0, text_column=1, date_column=2)
    article = load_paths([tmp_path], csv=options).articles[0]
    assert (article.id, article.source, article.date) == ("t:1", "Politik", "2021-05-06")


def test_csv_options_are_validated() -> None:
    with pytest.raises(ValidationError):
        CsvOptions(has_header=False)  # the default text column is a name
    with pytest.raises(ValidationError):
        CsvOptions(encoding="no-such-codec")
    with pytest.raises(ValidationError):
        CsvOptions(delimiter=";;")


def test_csv_missing_column_skips_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("headline,body\nA,B\n", encoding="utf-8")
    result = load_paths([tmp_path])
    assert result.articles == []
    assert reasons(result)["t.csv"] == ["no column 'text' in the header (found: headline, body)"]


def test_gnad_preset_rows(tmp_path: Path) -> None:
    csv_text = (
        "Sport;'Ein Teaser zum Spiel. Wien – Der Text des Artikels.'\nKultur;'Zweiter Text mit ''Zitat''.'\n"
    )
    (tmp_path / "gnad-mini.csv").write_text(csv_text, encoding="utf-8")
    articles = load_paths([tmp_path], csv=CsvOptions.gnad()).articles
    assert [a.source for a in articles] == ["gnad10k/Sport", "gnad10k/Kultur"]
    assert re.fullmatch(r"gnad-mini:1:[0-9a-f]{8}", articles[0].id)
    assert articles[0].title == "Ein Teaser zum Spiel."
    assert articles[1].text == "Zweiter Text mit 'Zitat'."


@pytest.mark.corpus
def test_gnad_corpus_with_the_preset() -> None:
    if not GNAD_CSV.is_file():
        pytest.skip(f"corpus not present: {GNAD_CSV}")
    result = load_paths([GNAD_CSV], csv=CsvOptions.gnad())
    assert result.skipped == []
    assert len(result.articles) == 1028
    assert len({a.id for a in result.articles}) == 1028
    labels = collections.Counter(a.source.split("/", 1)[1] for a in result.articles)
    assert set(labels) == {
        "Etat",
        "Inland",
        "International",
        "Kultur",
        "Panorama",
        "Sport",
        "Web",
        "Wirtschaft",
        "Wissenschaft",
    }
    assert all(a.source.startswith("gnad10k/") for a in result.articles)
    assert all(re.fullmatch(rf"{GNAD_CSV.stem}:\d+:[0-9a-f]{{8}}", a.id) for a in result.articles)
    assert collections.Counter(a.language for a in result.articles)["de"] >= 1020
    assert all(a.title and len(a.title) <= 200 for a in result.articles)
    again = load_paths([GNAD_CSV], csv=CsvOptions.gnad())
    assert [a.id for a in again.articles] == [a.id for a in result.articles]


# --- encodings


def test_latin1_is_decoded() -> None:
    article = load_paths([FIXTURES / "latin1.txt"]).articles[0]
    assert "Über die Größe" in article.text and "Straße" in article.text
    assert "São Paulo" in article.text and "Café" in article.text


@pytest.mark.parametrize(
    "payload",
    [
        codecs.BOM_UTF8 + "Grüße aus Köln.\r\nZweite Zeile.".encode(),
        "Grüße aus Köln.\rZweite Zeile.".encode(),
        codecs.BOM_UTF16_LE + "Grüße aus Köln.\nZweite Zeile.".encode("utf-16-le"),
    ],
)
def test_utf8_bom_crlf_and_utf16(tmp_path: Path, payload: bytes) -> None:
    (tmp_path / "x.txt").write_bytes(payload)
    assert load_paths([tmp_path]).articles[0].text == "Grüße aus Köln.\nZweite Zeile."


# --- cleaning and inference


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("A\r\nB\rC", "A\nB\nC"),
        ("Ein\u00a0Wort\tund  noch\u2009eins.", "Ein Wort und noch eins."),
        ("Zero\u200bwidth soft\u00adhyphen\x07 bell.", "Zerowidth softhyphen bell."),
        ("Cafe\u0301 ist NFC.", "Café ist NFC."),
        ("Absatz eins.\n\n\n\n  Absatz zwei.  ", "Absatz eins.\n\nAbsatz zwei."),
        ("Text.\n\nBild: dpa / Max Muster\n\nMehr Text.", "Text.\n\nMehr Text."),
        ("Text.\n© Reuters 2024\nhttps://example.org/a?b=c\n---\nEnde.", "Text.\nEnde."),
        ("Text. Mehr zum Thema - Warum alles anders kam", "Text."),
        ("Text.\n\nLesen Sie auch: Der große Überblick", "Text."),
        (
            "Das Foto: ein Beweis, sagte er vor Gericht, das vieles ändern werde und mehr erklärt, so er.",
            "Das Foto: ein Beweis, sagte er vor Gericht, das vieles ändern werde und mehr erklärt, so er.",
        ),
        (
            "Er bat: Unterstützen Sie uns mit einer Spende!\n\nDanach sprach der Bürgermeister.",
            "Er bat: Unterstützen Sie uns mit einer Spende!\n\nDanach sprach der Bürgermeister.",
        ),
        (
            "Bericht.\n\nUnterstützen Sie uns bitte mit einer Spende!\nFolgen Sie uns auf Telegram.",
            "Bericht.",
        ),
        ("Report.\n\nPlease support our journalism today.\n\nSubscribe to our newsletter!", "Report."),
        # A whole article on one line (a CSV row) that mentions an appeal is an article, not an appeal.
        (
            "Die Partei rief: Spenden Sie für die Opfer! " + "Der Bericht geht weiter. " * 30,
            ("Die Partei rief: Spenden Sie für die Opfer! " + "Der Bericht geht weiter. " * 30).strip(),
        ),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024", "2024"),
        ("2024-06", "2024-06"),
        ("2023-09-27", "2023-09-27"),
        ("2023-09-27T10:00:00Z", "2023-09-27"),
        ("27.09.2023", "2023-09-27"),
        ("27/09/2023", "2023-09-27"),
        ("09/27/2023", "2023-09-27"),
        ("05/06/2023", None),  # ambiguous
        ("2023-13-01", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_normalize_date(value: str | None, expected: str | None) -> None:
    assert normalize_date(value) == expected


def test_detect_language() -> None:
    # What the loaders ask the project's one detector for an article's language.
    def detect(text: str) -> str:
        return detect_language(text, default="und", languages=ARTICLE_LANGUAGES)

    assert detect("Die Bundesregierung hat am Mittwoch neue Regeln für den Wohnungsbau beschlossen.") == "de"
    assert detect("The government announced new rules for housing construction on Wednesday.") == "en"
    assert detect("OK 123") == "und"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Kurzer Titel\n\nDer Text folgt hier. Er ist länger.", "Kurzer Titel"),
        ("Lange Schlagzeile " * 10 + "\nText.", ("Lange Schlagzeile " * 10).strip()),  # 179 chars: kept whole
        ("Nur ein Satz ohne weitere Zeilen. Und noch einer.", "Nur ein Satz ohne weitere Zeilen."),
        ("Erster Satz. Zweiter Satz.\nDritte Zeile.", "Erster Satz."),
        ("Wort " * 60 + "Ende.", ("Wort " * 30).strip() + "…"),  # cut at a word boundary within 150 chars
    ],
)
def test_infer_title(text: str, title: str) -> None:
    assert infer_title(text) == title


def test_content_hash_tracks_text_and_metadata(seeds: dict[str, Article]) -> None:
    article = seeds["002_5656326da5719992"]
    same = article.model_copy(update={"origin": "/elsewhere/002.txt"})
    assert content_hash(same) == article.content_hash
    for change in (
        {"text": article.text + " Nachtrag."},
        {"title": "Anders"},
        {"date": "2020"},
        {"source": "X"},
    ):
        assert content_hash(article.model_copy(update=change)) != article.content_hash


def test_csv_label_filter_keeps_only_matching_rows(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text(
        "International;'Wien und Moskau verhandeln über Gas.'\n"
        "Sport;'Rapid gewinnt das Derby klar.'\n"
        "International;'Die UNO tagt in Genf.'\n",
        encoding="utf-8",
    )
    result = load_paths([path], csv=CsvOptions.gnad(labels=["International"]))
    assert [a.source for a in result.articles] == ["gnad10k/International"] * 2
    # Row numbers (and so ids) are those of the whole file, not of the filtered subset.
    assert result.articles[1].id.startswith("news:3:")
    with pytest.raises(ValueError, match="label_column"):
        CsvOptions(labels=("x",))
