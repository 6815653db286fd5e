"""Tools for the demos, the tests and the benchmark; none of it is deployed.

- ``devtools.local_aws``: AWS on this machine: the monitor's resources and stack on moto, the
  services moto lacks answered on the wire, the Lambda and CloudWatch behaviour around them.
- ``devtools.demos``: what a person runs to see the monitor work: ``make demo``,
  ``make verify-demo``, ``make alert-pictures`` and the fault sweep.
- ``devtools.bench``: ``make bench``, each measure a module, against its floor.
- ``devtools.release``: the template as a StackSet and the Serverless Application Repository
  take it.
"""
