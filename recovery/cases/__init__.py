"""The case domain: analysis → cases (``analysis.py``, which loads pandas: import it where
it runs, not at start-up), the lists, the case page's data, the export and the actions
(one action table: form, service, flash text, label, shortcut)."""
