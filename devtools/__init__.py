"""Local stand-ins and tools for the demo, the tests and the benchmark. Not deployed."""
