"""The arena: two anonymous models answer one prompt, a person votes, ratings follow.

- `ratings`: pure Bradley-Terry maximum likelihood with bootstrap 95% intervals
  (`compute_ratings(battles) -> list[Rating]`, scale 400*r + 1000).
- `battles`: pairing that favours uncertain pairs (`choose_pair`), battles and votes stored in
  SQLite (`new_battle`, `get_battle`, `save_answer`, `vote`, `voted_battles`).
"""
