"""Helpers of the CSV / Excel connector: file reading, value parsing, column mapping.

Pure helpers: importing this package registers nothing (the registry imports every
module of ``wawi_connectors``).
"""
