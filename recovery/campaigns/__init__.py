"""ReConnect by product group (PRODUCT.md R1–R7, docs/reconnect.md): the settings per
group, the send switch, the tabs' lists and counts, and the first message by hand.

Imports ``models``, ``extensions``, ``jobs`` and ``messaging``; the ``reconnect``
blueprint is its only caller from the web. Import the module you need.
"""
