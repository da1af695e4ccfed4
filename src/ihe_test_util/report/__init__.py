"""Run reports: every output format is a :class:`~ihe_test_util.report.base.Reporter` fed a
stream of :class:`~ihe_test_util.results.ExchangeResult` values as exchanges finish.

Modules (import the one you need; nothing heavy is imported here)::

    base.py            Reporter protocol, ReporterSet fan-out
    outputs.py         ReportOutputs: the --report-json/--junit/--markdown/--html files -> reporters
    json_report.py     the JSON run report (run-report.schema.json), written atomically
    junit_report.py    JUnit XML for GitHub / GitLab / Jenkins
    markdown_report.py Markdown for $GITHUB_STEP_SUMMARY and pull-request comments
    html_report.py     one self-contained HTML file for reviewing diffs
    terminal.py        rich progress bar, summary table, panels, findings
    grouping.py        findings: differences grouped by transaction and location
    reader.py          read and validate a JSON run report, streaming its exchanges
    merge.py           merge shard reports; render other formats from a JSON report
"""
