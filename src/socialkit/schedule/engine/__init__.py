"""The engine's moving parts: claims, dispatch, retries, reconciliation, metrics, events.

Applications use :class:`socialkit.schedule.Scheduler`; these modules are its insides.
"""
