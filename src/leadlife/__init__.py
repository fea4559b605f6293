"""leadlife: a pluggable lead-lifecycle engine for B2B sales teams.

>>> import leadlife
>>> engine = leadlife.Engine()

``import leadlife`` stays light: pandas, scikit-learn and joblib load only where
batch and machine-learning paths use them.
"""

from leadlife import errors
from leadlife.clock import FixedClock
from leadlife.engine import Engine
from leadlife.events import Event
from leadlife.lead import Lead, StageChange
from leadlife.notices import Notice
from leadlife.plugins import get_plugin_manager, hookimpl
from leadlife.reports import IngestReport, PluginFailure, Rejection, TickReport
from leadlife.rules import Rulebook, load_rulebook
from leadlife.stages import Stage

__version__ = "0.1.0"

__all__ = [
    "Engine",
    "Event",
    "FixedClock",
    "IngestReport",
    "Lead",
    "Notice",
    "PluginFailure",
    "Rejection",
    "Rulebook",
    "Stage",
    "StageChange",
    "TickReport",
    "__version__",
    "errors",
    "get_plugin_manager",
    "hookimpl",
    "load_rulebook",
]
