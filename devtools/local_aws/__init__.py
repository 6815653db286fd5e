"""AWS on this machine, for the tests, the demos and the benchmark: moto for what it implements,
the rest answered on the wire below botocore, so the monitor's code runs unchanged.

- ``resources``: the monitor's resources on moto, in-process, and the function's environment;
- ``stack``: template.yaml transformed by SAM and created as a stack (moto or an emulator);
- ``template``: template.yaml as data, so the stand-ins use the infrastructure's own names;
- ``compute_optimizer``, ``alarm_history``, ``lambda_invoke``: what moto lacks, on the wire;
- ``aws_requests``: a tap below every client that counts calls and injects faults;
- ``emf``, ``alarm_evaluation``: CloudWatch reading metric lines and evaluating alarms.

Only a docstring: importing one of these must not import moto for the others.
"""
