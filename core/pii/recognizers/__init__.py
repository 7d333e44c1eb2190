"""hushdb's recognizers (the registry that holds them: :mod:`core.pii.registry`).

Families (one module each): ``sensitive`` (special categories, en + zh),
``cn_personal`` (Chinese phones, resident ID, bank card, address, names),
``obfuscated`` (spelled-out emails, split digits), ``en_identifiers`` (street
addresses, postcodes, titles, ages, offline email).  Record-aware detection
lives in :mod:`core.pii.known_records` (it is per call, not per registry).
"""
