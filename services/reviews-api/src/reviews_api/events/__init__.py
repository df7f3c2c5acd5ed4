"""reviews-api's events: the catalogue of payloads, and publishing every changed aggregate."""
