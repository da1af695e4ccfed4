"""Record: scenario files and a recording proxy -> cassettes. Yields results, prints nothing."""
