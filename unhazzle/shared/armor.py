"""The lines around age's ASCII-armored ciphertext: what recognising a stored secret value needs,
without loading the encryption library (shared/age.py), which only encrypting and decrypting do."""

from __future__ import annotations

ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
