"""The HTML overview for people: German pages rendered on the server (Jinja2).

``/`` (items with a filter form), ``/items/{id}`` (one item with its
provenance), ``/zentren`` (centres and the health of their sources) and
``/statistik`` (counts as tables and SVG bar charts), plus the one
stylesheet under ``/static/``. No JavaScript, nothing loaded from
elsewhere, no cookies: the pages work in any browser and under a
Content-Security-Policy without ``'unsafe-inline'`` (security.py).
They read through the same filters, queries and publication rules as the
API (kisync.web.params, kisync.web.query, kisync.web.public).
"""
