"""Speed and memory benchmarks of the assistant, side by side with the LangChain standard recipe on the
same models. Run `python -m benchmarks --help`; results land in benchmarks/results/ (JSON + Markdown)."""
