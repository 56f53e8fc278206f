"""SQLite plumbing shared by the sender's store and the receiver's inbox (imports neither)."""
