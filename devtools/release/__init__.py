"""The template as others take it: a service-managed StackSet (``make stackset-template``) and
the Serverless Application Repository (``make publish``)."""
