"""The ``consentline`` command line: a thin shell over the Python API.

Each command calls one method of :class:`consentline.Consentline`, prints Rich
text for people or JSON with ``--json``, and turns library errors into
``Error: <message>`` with exit status 2.

    $ consentline --db sqlite:///consent.db init
    $ consentline account create acme --region US
    $ consentline check +14155550101 --from +18005550100 --purpose marketing
"""

from consentline.cli.app import app, main

__all__ = ["app", "main"]
