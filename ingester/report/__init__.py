"""The weekly report for people who never open Grafana: one page (HTML, PDF or PNG) with the channel's
KPIs against the previous period, optionally e-mailed on a schedule by the service.

period.py (which days) -> figures.py (the kpi views, nothing else) -> page.py + templates/ (HTML) ->
browser.py (PDF/PNG through headless Chromium) -> mail.py / delivery.py (SMTP, once per period).
"""
