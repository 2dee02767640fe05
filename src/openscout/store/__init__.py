"""The SQLite store: generations, eval runs and items, cache, benchmarks, votes, chats."""
