"""Background work: the worker loop and the jobs it runs (reply and webhook delivery)."""
