"""``enrollment-monitor verify``: proof on the user's own account that a deployed stack works.
``checklist`` gathers what AWS says and judges each line; ``policy`` evaluates the topic's and
the key's policies for the requests CloudWatch alarms make. Not shipped in the Lambda."""
