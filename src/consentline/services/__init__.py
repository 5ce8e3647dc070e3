"""Use cases: one module per noun, values in and plain results out, one unit of work each."""
