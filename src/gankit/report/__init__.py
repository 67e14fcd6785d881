"""HTML reports of run folders: `report([run, ...], out="report.html")`."""

from gankit.report.page import report
from gankit.report.view import RunView, read_run

__all__ = ["RunView", "read_run", "report"]
