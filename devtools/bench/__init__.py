"""``make bench`` (``python -m devtools.bench``): what the monitor costs in time, AWS requests,
package size and metric series, each measure a module of this package.

Only a docstring: a cold-start child imports ``devtools.bench.floor`` before its clock starts.
"""
