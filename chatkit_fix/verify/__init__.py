"""Checks that boot a user's ChatKit back end against local fakes."""
