"""Load news articles from files and folders (txt, md, html, jsonl, csv) into cleaned `Article`s.

`walk` finds the files, `decode` reads their bytes, one module per format parses them, `clean` and
`metadata` finish each article; `stream` ties them together.
"""

from assistant.loaders.base import SIDECAR_NAME, SUPPORTED_SUFFIXES
from assistant.loaders.clean import clean_text
from assistant.loaders.csv import CsvOptions
from assistant.loaders.ids import ArticleIds, origin_file
from assistant.loaders.metadata import content_hash, infer_title, normalize_date
from assistant.loaders.stream import ArticleStream, LoadResult, load_paths
from assistant.loaders.walk import check_path

__all__ = [
    "SIDECAR_NAME",
    "SUPPORTED_SUFFIXES",
    "ArticleIds",
    "ArticleStream",
    "CsvOptions",
    "LoadResult",
    "check_path",
    "clean_text",
    "content_hash",
    "infer_title",
    "load_paths",
    "normalize_date",
    "origin_file",
]
