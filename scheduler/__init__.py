"""APScheduler jobs: processing stored events, outbox delivery with retries (nudges come later)."""
