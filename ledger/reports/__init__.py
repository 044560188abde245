"""Reports: one immutable value each (``document.Report``), rendered by the page, the API,
the command line and the exports, and proved by ``verify-report``."""
