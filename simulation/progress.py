"""What every long step of simulation/ reports to, and the unit of its clock."""

from __future__ import annotations

from collections.abc import Callable

# A progress callback: the fraction done (0 to 1) and a message saying what is being done.
Progress = Callable[[float, str], None]

DAY_S = 86400.0  # seconds in a day: the simulation clock counts seconds from the model's start
