"""Chat protocols: lines in, `Message`s to the dispatcher, replies back out."""
