"""``enrollment-monitor verify``: proof on the user's own account that a deployed stack works.

- ``model``: the stack, the alarms' queries, the checklist's lines, the errors (plain values);
- ``facts``: what AWS says, read once and converted where it enters into typed values;
- ``verdicts``: each line decided from facts alone (pure functions);
- ``report``: the checklist as text or JSON;
- ``checklist`` wires them: which facts each line needs;
- ``policy`` evaluates the topic's and the key's policies for the requests CloudWatch alarms
  make.

Not shipped in the Lambda."""
