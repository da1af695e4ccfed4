"""Run reports: every output format is a :class:`~ihe_test_util.report.base.Reporter` fed a
stream of :class:`~ihe_test_util.results.ExchangeResult` values as exchanges finish.

Modules (import the one you need; nothing heavy is imported here)::

    base.py             Reporter protocol, ReporterSet fan-out, feed()
    outputs.py          ReportOutputs: --report-json/--junit/--markdown/--html -> reporters
    json_report.py      the JSON run report (run-report.schema.json), written atomically
    junit_report.py     JUnit XML for GitHub / GitLab / Jenkins
    markdown_report.py  Markdown for $GITHUB_STEP_SUMMARY and pull-request comments
    html_report.py      one self-contained HTML page for reviewing diffs (templates/)
    terminal.py         rich progress bar, panels, summary and findings tables
    grouping.py         findings: differences grouped by transaction and location
    digest.py           outcome matrix + findings + attention list, gathered in one pass
    reader.py           read a JSON run report back, validated, streaming its exchanges
    merge.py            merge shard reports; render other formats from a JSON report
    terminal_diff.py    rich rendering of one comparison for `ihe diff`
    terminal_record.py  `ihe record SCENARIO`: progress, a line per step, summary table, JSON
    terminal_proxy.py   `ihe record --proxy`: where to point clients, a line per exchange
    notices.py          warnings printed before a command starts (TLS verification off)
    file_reporter.py    SpooledFileReporter: the base of the JSON, JUnit and HTML reports
    exchange_spool.py   ExchangeSpool: rendered exchanges on disk, read back in order
    atomic.py           atomic report writes
    labels.py, attention.py, schema.py, timestamps.py   shared wording, limits and checks
"""
