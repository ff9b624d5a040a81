"""APScheduler jobs: processing stored events, outbox delivery with retries, the nudge sweep."""
