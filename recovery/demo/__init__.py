"""The demo business: a German garden and professional-supplies trader as a WaWi export.

``generate_demo_export`` (in ``generator``) writes the CSV file; the app imports it
through the CSV connector like any user's file.
"""
