"""Passwords are hashed with argon2id at the library's recommended cost (test users use a cheaper hash,
tests/factories.py), and verified with whatever parameters a stored hash carries."""

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from crm.auth.passwords import hash_password, verify_password


def test_a_new_password_is_argon2id_at_the_recommended_cost_and_only_it_verifies():
    stored = hash_password("correct horse battery")
    params = PasswordHasher().check_needs_rehash(stored)
    assert stored.startswith("$argon2id$") and params is False  # the defaults, not weaker ones
    assert f"m={RFC_9106_LOW_MEMORY.memory_cost},t={RFC_9106_LOW_MEMORY.time_cost}" in stored
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse battery ")
    assert not verify_password(None, "correct horse battery")  # no such user: still a full verification
    assert not verify_password("not a hash", "x")


def test_a_hash_made_with_other_parameters_still_verifies():
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("s3cret")
    assert verify_password(cheap, "s3cret") and not verify_password(cheap, "secret")
