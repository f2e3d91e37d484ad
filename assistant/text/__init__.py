"""The ground floor: what the project knows about German and English text, with no I/O beyond
reading its own data files. Nothing here imports the rest of the package.

- `normalize`: folding (case, accents, ß) and word tokens
- `sentences`: sentence spans with exact offsets
- `language`: one language detector for questions, sentences and articles
- `facts`: numbers (also spelled out), dates, months, seasons, weekdays, parts of the day
- `names`: which words are names, and whether a name occurs in a text across languages/spellings
- `terms`: BM25 terms (stopwords, Snowball stems)
- `questions`: what kind of answer a question asks for
"""
