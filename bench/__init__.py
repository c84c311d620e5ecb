"""The benchmark (``make bench``): a national-scale data set, the API against a raw-SQL floor,
HTTP under load, the cost of history, audit reads. See docs/benchmark.md and RESULTS.md."""
