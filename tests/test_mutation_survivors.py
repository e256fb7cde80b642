"""Behaviour the mutation run (docs/testing.md) found no test for: each test here is a
specification of the vote path or the live path that some surviving mutant broke."""
