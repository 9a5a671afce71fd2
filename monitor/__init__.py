"""monitor: an event-driven monitor of CDMO contracts and plant milestones (feeds -> Slack)."""

__version__ = "0.1.0"
