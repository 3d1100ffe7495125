"""Corporate actions: what each holder is entitled to from an event, and what the books must book."""
