"""What a person runs to see the monitor work, offline: ``make demo``, ``make verify-demo``,
``make alert-pictures``, and the fault sweep (``python -m devtools.demos.fault_sweep``)."""
