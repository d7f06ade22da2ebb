"""Business operations on the database; each runs inside one transaction (a `Tx`)."""
