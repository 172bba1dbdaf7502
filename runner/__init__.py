"""The neutral layer between the model and its users: user errors, input checks, the executor.

Imports only `sim` and `agents` (never `calibration`, `experiments` or the command line), so that
calibration, experiments and the CLI can all stand on it.
"""
